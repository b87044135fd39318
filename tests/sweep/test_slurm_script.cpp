#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdlib>

#include "../data/data_test_util.h"
#include "sweep/slurm_script.h"

namespace {

using lra::test::read_text;
using lra::test::TempDir;
using lra::test::write_text;

lra::SweepOptions options_in(const TempDir& dir) {
  lra::SweepOptions o;
  o.train_bin = dir / "fake_train.sh";
  o.config_path = "/abs/configs/listops.yaml";
  o.base_overrides = {"train.steps=100"};
  o.out_dir = dir / "sweep";
  return o;
}

TEST(SlurmScript, OneArrayTaskPerPointWithDirectives) {
  TempDir dir;
  const auto points = lra::expand_grid(
      "listops", {lra::parse_grid_axis("attention.type=softmax,favor,schoenbat")}, {0, 1});
  lra::SlurmOptions slurm;
  slurm.cpus_per_task = 6;
  slurm.max_parallel = 4;
  slurm.extra_directives = {"--partition=gpu", "--time=08:00:00"};
  const std::string script = lra::slurm_array_script(options_in(dir), slurm, points);
  EXPECT_EQ(script.rfind("#!/bin/bash\n", 0), 0u);
  EXPECT_NE(script.find("#SBATCH --array=0-5%4\n"), std::string::npos);
  EXPECT_NE(script.find("#SBATCH --cpus-per-task=6\n"), std::string::npos);
  EXPECT_NE(script.find("#SBATCH --gres=gpu:1\n"), std::string::npos);
  EXPECT_NE(script.find("#SBATCH --partition=gpu\n#SBATCH --time=08:00:00\n"), std::string::npos);
  EXPECT_NE(script.find("#SBATCH --output=" + (dir / "sweep") + "/logs/slurm-%A_%a.log"),
            std::string::npos);
  for (const auto& p : points) EXPECT_NE(script.find("NAME='" + p.name + "'"), std::string::npos);
  EXPECT_EQ(
      std::system(("bash -n " + (write_text(dir / "job.sh", script), dir / "job.sh")).c_str()), 0);
}

// Runs the array task a job would run, with a stand-in trainer that records its arguments.
std::string run_array_task(const TempDir& dir, const std::string& script, int task) {
  write_text(dir / "job.sh", script);
  write_text(dir / "fake_train.sh",
             "#!/bin/bash\nprintf '%s\\n' \"$@\" > \"" + (dir / "args.txt") + "\"\n");
  chmod((dir / "fake_train.sh").c_str(), 0755);
  std::remove((dir / "args.txt").c_str());
  const std::string cmd = "SLURM_ARRAY_TASK_ID=" + std::to_string(task) +
                          " SLURM_CPUS_PER_TASK=3 bash " + (dir / "job.sh") + " > " +
                          (dir / "job.out") + " 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << read_text(dir / "job.out");
  return read_text(dir / "args.txt");
}

TEST(SlurmScript, ArrayTaskRunsItsPointAndSkipsCompletedRuns) {
  TempDir dir;
  const auto points =
      lra::expand_grid("listops", {lra::parse_grid_axis("attention.features=32,64")}, {0});
  const auto options = options_in(dir);
  const std::string script = lra::slurm_array_script(options, {}, points);
  const std::string args = run_array_task(dir, script, 1);
  EXPECT_EQ(args,
            "--config\n/abs/configs/listops.yaml\n--set\ntrain.steps=100\n--set\n"
            "attention.features=64\n--set\nseed=0\n--set\noutput.dir=" +
                options.out_dir +
                "\n--set\nname=listops__features=64__seed=0\n--overwrite\n--set\nthreads=3\n--set\n"
                "device=cuda\n");
  // A task requeued after its first checkpoint continues from it.
  write_text(options.out_dir + "/" + points[1].name + "/checkpoint.pt", "checkpoint");
  EXPECT_NE(run_array_task(dir, script, 1).find("\n--resume\n"), std::string::npos);
  write_text(options.out_dir + "/" + points[1].name + "/report.json",
             "{\n  \"status\": \"completed\"\n}\n");
  EXPECT_EQ(run_array_task(dir, script, 1), "");  // not run again
  EXPECT_NE(read_text(dir / "job.out").find("already completed"), std::string::npos);
}

TEST(SlurmScript, QuotesArgumentsForTheShell) {
  EXPECT_EQ(lra::shell_quote("plain"), "'plain'");
  EXPECT_EQ(lra::shell_quote("it's $HOME"), "'it'\\''s $HOME'");
}

}  // namespace

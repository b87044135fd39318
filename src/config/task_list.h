// Every LRA task, one registration line each, in the order the papers' tables list them:
//
//   LRA_TASK(name, vocabulary and classes of its default preparation, TOWERS (ONE_TOWER |
//            TWO_TOWERS: pairs of documents), SHAPE (SEQUENCE(default padded length) |
//            IMAGE(side): one token per pixel), its synthetic generator (NO_GENERATOR |
//            LISTOPS_GENERATOR | PATHFINDER_GENERATOR: data.source: synthetic),
//            its default config)
//
// The line is expanded twice: without LibTorch into the TaskSpec table the config, the report
// and the prepared format read (tasks.cpp), and into the data layer's table (src/data/
// task_registry.cpp), which takes lra_prepare's subcommand `prepare_command` from namespace
// lra::tasks::<name> (src/data/tasks/<name>.cpp) and the generator the line names. Adding a
// task = that file (its lra_prepare options and its reader) + one line here + its config.
// (No include guard: this list is expanded more than once.)
// clang-format off
LRA_TASK(listops,    16,  10, ONE_TOWER,  SEQUENCE(2000), LISTOPS_GENERATOR,    "configs/listops.yaml")
LRA_TASK(text,       257, 2,  ONE_TOWER,  SEQUENCE(4000), NO_GENERATOR,         "configs/text.yaml")
LRA_TASK(retrieval,  257, 2,  TWO_TOWERS, SEQUENCE(4000), NO_GENERATOR,         "configs/retrieval.yaml")
LRA_TASK(image,      256, 10, ONE_TOWER,  IMAGE(32),      NO_GENERATOR,         "configs/image.yaml")
LRA_TASK(pathfinder, 256, 2,  ONE_TOWER,  IMAGE(32),      PATHFINDER_GENERATOR, "configs/pathfinder.yaml")
LRA_TASK(pathx,      256, 2,  ONE_TOWER,  IMAGE(128),     PATHFINDER_GENERATOR, "configs/pathx.yaml")
// clang-format on

// How OpenMP worker threads wait between parallel regions, chosen before the runtime starts.
#pragma once

namespace lra {

// OpenMP's default lets idle workers spin for a while before they sleep. On a machine shared with
// another busy process the spinning threads take the cores the working ones need (a ListOps step
// measured 137 ms spinning, 50 ms passive, beside another process). libgomp reads
// OMP_WAIT_POLICY once, while the program loads, so when the user has not set it this sets it to
// PASSIVE and re-executes the program with the same arguments (nothing has run yet). If the
// re-execution fails the program continues with the runtime's default. Call first in main.
void wait_passively_unless_set(char** argv);

// For a launcher that does not load OpenMP itself (lra_sweep): the same default, inherited by
// the processes it starts.
void default_passive_wait_for_children();

// OMP_WAIT_POLICY as the OpenMP runtime read it ("" when unset), for reports.
const char* openmp_wait_policy();

}  // namespace lra

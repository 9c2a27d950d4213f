// bpf_test_env.h — what the BPF tests need from the machine: root (a skip, or a
// failure under WEIR_REQUIRE_ALL=1), a private network namespace with commands run
// inside it, and BPF_PROG_TEST_RUN of an XDP program on a frame. Test code; used
// from the test's main thread only (the namespace is the process's).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "packet_builder.h"

namespace weir::test {

// Why this process cannot load and run BPF programs; "" when it can.
std::string bpf_privilege_problem();

// WEIR_REQUIRE_ALL=1: a test that would skip for a missing privilege fails (SPEC §7).
bool require_all();

// Moves this process into a new, empty network namespace (the first call does;
// later calls return its result again). "" on success, else why not.
std::string enter_private_netns();

// Runs argv (no shell) and waits. "" when it exits 0, else the command and status.
std::string run_command(const std::vector<std::string> &argv);

// Writes `text` to an existing file such as a sysctl under /proc/sys. "" on success.
std::string write_file(const std::string &path, const std::string &text);

// One BPF_PROG_TEST_RUN (repeat 1) of an XDP program on a copy of `in`.
struct xdp_run {
	int err = 0;  // bpf_prog_test_run_opts's result: 0, or -errno
	uint32_t verdict = 0;  // XDP_PASS, XDP_DROP, ...
	frame out;  // the frame as the program left it
};
xdp_run run_xdp(int prog_fd, const frame &in);

// The sum over CPUs of entry `index` of a per-CPU array of __u64; UINT64_MAX when
// the lookup fails.
uint64_t percpu_sum(int map_fd, uint32_t index);

}  // namespace weir::test

// At the start of a test that needs root: skips without it, or fails when
// WEIR_REQUIRE_ALL=1.
#define WEIR_REQUIRE_BPF_PRIVILEGE()                                                                         \
	do {                                                                                                 \
		const std::string weir_why_ = weir::test::bpf_privilege_problem();                           \
		if (!weir_why_.empty()) {                                                                    \
			if (weir::test::require_all())                                                       \
				FAIL() << weir_why_ << " (WEIR_REQUIRE_ALL=1: no skipping)";                 \
			GTEST_SKIP() << weir_why_;                                                           \
		}                                                                                            \
	} while (0)

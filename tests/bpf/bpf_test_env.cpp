// bpf_test_env.cpp — root check, private network namespace, commands and
// BPF_PROG_TEST_RUN for the BPF tests (bpf_test_env.h). Main test thread only.
#include "bpf_test_env.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

namespace weir::test {

std::string bpf_privilege_problem()
{
	if (geteuid() != 0)
		return "needs root: BPF_PROG_TEST_RUN, program loads and network namespaces";
	return "";
}

bool require_all()
{
	const char *v = std::getenv("WEIR_REQUIRE_ALL");
	return v && std::string(v) == "1";
}

std::string enter_private_netns()
{
	static const std::string result = [] {
		if (unshare(CLONE_NEWNET) != 0)
			return std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
		return std::string();
	}();
	return result;
}

std::string run_command(const std::vector<std::string> &argv)
{
	std::string text;
	for (const auto &a : argv)
		text += (text.empty() ? "" : " ") + a;
	std::vector<char *> args;
	for (const auto &a : argv)
		args.push_back(const_cast<char *>(a.c_str()));
	args.push_back(nullptr);
	pid_t pid = fork();
	if (pid < 0)
		return text + ": fork: " + std::strerror(errno);
	if (pid == 0) {
		execvp(args[0], args.data());
		_exit(127);
	}
	int status = 0;
	if (waitpid(pid, &status, 0) != pid)
		return text + ": waitpid: " + std::strerror(errno);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return "";
	return text + ": exit status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

std::string write_file(const std::string &path, const std::string &text)
{
	std::ofstream f(path);
	f << text;
	f.close();
	if (!f)
		return "cannot write " + path;
	return "";
}

xdp_run run_xdp(int prog_fd, const frame &in)
{
	xdp_run r;
	// Room for a program that grows the frame; decapsulation only shrinks it.
	r.out.assign(in.size() + 256, 0);
	bpf_test_run_opts opts{};
	opts.sz = sizeof(opts);
	opts.data_in = in.data();
	opts.data_size_in = static_cast<uint32_t>(in.size());
	opts.data_out = r.out.data();
	opts.data_size_out = static_cast<uint32_t>(r.out.size());
	opts.repeat = 1;
	r.err = bpf_prog_test_run_opts(prog_fd, &opts);
	r.verdict = opts.retval;
	r.out.resize(r.err == 0 ? opts.data_size_out : 0);
	return r;
}

uint64_t percpu_sum(int map_fd, uint32_t index)
{
	int cpus = libbpf_num_possible_cpus();
	if (cpus <= 0)
		return std::numeric_limits<uint64_t>::max();
	std::vector<uint64_t> values(static_cast<size_t>(cpus));
	if (bpf_map_lookup_elem(map_fd, &index, values.data()) != 0)
		return std::numeric_limits<uint64_t>::max();
	uint64_t sum = 0;
	for (uint64_t v : values)
		sum += v;
	return sum;
}

}  // namespace weir::test

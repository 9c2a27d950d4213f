// bench_main.cpp — entry point of the micro-benchmarks: prints the machine they
// ran on (CPU model and clock, from /proc/cpuinfo) next to Google Benchmark's own
// context, so every figure is read with its machine.
#include <benchmark/benchmark.h>

#include <fstream>
#include <iostream>
#include <string>

namespace {

std::string cpuinfo_field(const std::string &field)
{
	std::ifstream in("/proc/cpuinfo");
	std::string line;
	while (std::getline(in, line)) {
		if (line.rfind(field, 0) == 0) {
			auto colon = line.find(':');
			if (colon != std::string::npos)
				return line.substr(colon + 2);
		}
	}
	return "unknown";
}

}  // namespace

int main(int argc, char **argv)
{
	std::cout << "cpu: " << cpuinfo_field("model name") << ", " << cpuinfo_field("cpu MHz") << " MHz\n";
	benchmark::AddCustomContext("cpu_model", cpuinfo_field("model name"));
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}

// fixture_corpus.cpp — writes every fixture input frame into DIR as a libFuzzer
// seed (two control bytes — headroom 128, clock step 1 — then the frame), so the
// fuzzers start from every behaviour the fixture table names.
#include <cstdio>
#include <fstream>
#include <string>

#include "fixtures.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	size_t n = 0;
	for (const weir::test::frame &f : weir::test::fixture_inputs()) {
		std::string path = std::string(argv[1]) + "/fixture-" + std::to_string(n++);
		std::ofstream out(path, std::ios::binary);
		out.put(char(128)).put(char(1));
		out.write(reinterpret_cast<const char *>(f.data()), std::streamsize(f.size()));
		if (!out) {
			std::fprintf(stderr, "cannot write %s\n", path.c_str());
			return 1;
		}
	}
	std::printf("%zu seeds written to %s\n", n, argv[1]);
	return n > 0 ? 0 : 1;
}

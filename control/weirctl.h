// weirctl.h — the parts of `weirctl` (weirctl_main.cpp: the command line;
// weirctl_client.cpp: one request and its reply over the control socket;
// weirctl_print.cpp: replies as aligned tables). Single-threaded.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace weir::weirctl {

using json = nlohmann::json;

struct reply_or_error {
	std::optional<json> reply;
	std::string error;  // set when there is no reply
};

// Sends `req` on a new connection to `path` and reads the one-line reply.
reply_or_error request(const std::string &path, const json &req);

// Prints an ok reply to `cmd` (the request's "cmd") for a person.
// Warnings go to stderr, the rest to stdout.
void print_reply(const std::string &cmd, const json &reply);

// "-" for null, the string itself, or the JSON text.
std::string text_of(const json &v);

}  // namespace weir::weirctl

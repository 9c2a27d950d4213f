// config_save.h — the configuration written back as TOML (`weirctl save`, and the
// text every live edit is validated through). Pure functions plus one atomic file
// write; the control thread calls them, `weir --check` reads what they write.
//
// The text names every key that has a default, with its current value (but
// see below), so a saved file means the same whatever later defaults become.
// Keys without a default (node.ipv6, gateways, dpdk.port, xdp.interface,
// health.port, backend mac) are written only when set, and a backend's weight
// only when it is not 1 (backends are most of a large file, and files are read up
// to 4 MiB). Comments of the original file are not kept.
#pragma once

#include <string>

#include "config.h"
#include "result.h"

namespace weir::ctl {

// The whole configuration as a TOML file that load_config_text() turns back into
// the same configuration (cfg.file is not written).
std::string config_toml(const config &cfg);

// One [[vip]] table with its health table and backends, as config_toml() writes it.
std::string vip_toml(const vip_config &vip);

// Writes `text` to `path` atomically: a temporary file in the same directory,
// fsync, rename over `path`, fsync of the directory. A reader sees the old file
// or the new one, never a part. An existing file's mode is kept (0644 for a new one).
status write_file_atomically(const std::string &path, const std::string &text);

}  // namespace weir::ctl

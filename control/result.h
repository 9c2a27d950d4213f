// result.h — the result type of init and control code: a value or a message a
// person can act on. Used by every control-plane module; no shared state.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace weir {

// An error: one line, saying what is wrong and, where it helps, what to do.
struct error {
	std::string message;
};

// std::expected-like (C++23's is not available under C++20): holds a T or an error.
template <typename T>
class [[nodiscard]] result {
public:
	result(T value) : _v(std::in_place_index<0>, std::move(value)) {}
	result(error e) : _v(std::in_place_index<1>, std::move(e)) {}

	explicit operator bool() const { return _v.index() == 0; }
	bool ok() const { return _v.index() == 0; }

	T &value() & { return std::get<0>(_v); }
	const T &value() const & { return std::get<0>(_v); }
	T &&value() && { return std::get<0>(std::move(_v)); }
	T *operator->() { return &std::get<0>(_v); }
	const T *operator->() const { return &std::get<0>(_v); }
	T &operator*() & { return std::get<0>(_v); }
	const T &operator*() const & { return std::get<0>(_v); }

	const std::string &error_message() const { return std::get<1>(_v).message; }

private:
	std::variant<T, error> _v;
};

// Success without a value.
struct ok_t {};
using status = result<ok_t>;
inline status ok()
{
	return ok_t{};
}

}  // namespace weir

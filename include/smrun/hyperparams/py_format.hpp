#pragma once

// Python's str() and repr() of a JSON-decoded value: how the reference renders hyperparameters
// into argv ("True", "None", "1e-05", "[1, 'a']").

#include <string>

#include "smrun/config/py_value.hpp"

namespace smrun::hyperparams {

// float.__repr__: shortest round-trip digits; exponent form when exp < -4 or exp >= 16
// ("1e-05", "1e+16", "1000.0", "-0.0", "nan", "inf", "-inf").
std::string py_float_repr(double d);

// str(value): strings as they are, everything else as repr.
std::string py_str(const config::PyValue& value);

// repr(value): strings quoted per Python's rules, lists "[1, 'a']", dicts "{'a': 1}" in
// insertion order, None/True/False.
std::string py_repr(const config::PyValue& value);

}  // namespace smrun::hyperparams

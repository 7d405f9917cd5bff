// Namespace aliases and completion tokens for the Asio/Beast code of hoist.
//
// Boost 1.81 (Asio 1.26) exactly: every async call takes an explicit token;
// `use_nothrow` yields (error_code, result...) tuples for the calls whose error
// decides a retry. Asio and Beast are compiled once, in hoist_asio
// (BOOST_ASIO_SEPARATE_COMPILATION / BOOST_BEAST_SEPARATE_COMPILATION), so
// including this header does not re-instantiate their non-template code.
#pragma once

#include <boost/version.hpp>
static_assert(BOOST_VERSION >= 108100, "hoist needs Boost 1.81 or newer");

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace hoist::net {
namespace asio = boost::asio;
using asio::awaitable;
using error_code = boost::system::error_code;
inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
} // namespace hoist::net

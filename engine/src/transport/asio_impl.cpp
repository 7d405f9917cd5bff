// The one translation unit that compiles Asio, Asio's SSL and Beast (separate
// compilation): every other file only instantiates templates.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>

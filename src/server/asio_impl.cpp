// Boost.Asio and Boost.Beast compiled once for the whole library (separate compilation): the
// io_*.cpp files then only instantiate templates instead of recompiling the implementation.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>

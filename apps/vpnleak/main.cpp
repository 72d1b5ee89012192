// vpnleak: finds, measures and prevents VPN leaks. Everything lives in the libraries.
#include "cli/app.hpp"

int main(int argc, char** argv) { return vpnleak::cli::main(argc, argv); }

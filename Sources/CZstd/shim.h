// The system's libzstd (Debian: libzstd-dev), for the PickleZstd framing layer.
#include <zstd.h>
#include <zstd_errors.h>

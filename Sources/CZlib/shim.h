#include <zlib.h>

/// inflateInit2 is a macro in zlib.h; Swift cannot call macros, so wrap it.
static inline int berth_inflate_init(z_stream *stream) {
    // 15 window bits + 32: accept both zlib and gzip headers, detected automatically.
    return inflateInit2(stream, 15 + 32);
}

static inline int berth_deflate_init_gzip(z_stream *stream, int level) {
    // 15 window bits + 16: write a gzip header and trailer.
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

// zstd layers (application/vnd.oci.image.layer.v1.tar+zstd) are decompressed with the system
// libzstd's streaming API.
#include <zstd.h>

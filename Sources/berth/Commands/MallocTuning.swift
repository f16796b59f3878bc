import CMalloc

/// How the long-running roles (server, agent) use glibc's allocator, so that RSS follows the
/// working set rather than the biggest burst.
enum MallocTuning {
    static func apply() {
        // Few arenas: the server's many short-lived buffers (LIST bodies, watch batches)
        // otherwise spread over one arena per thread and stay resident after they are freed.
        _ = mallopt(M_ARENA_MAX, 2)
        // Fixed thresholds turn off glibc's dynamic ones: after a 22 MB LIST body was freed, the
        // mmap threshold rose to 22 MB and every later large buffer came from the heap, where it
        // left holes between long-lived objects (settled server RSS after `bench/api.sh` swung
        // between 140 and 180 MB; with these, 138-143 MB). Buffers of 1 MB and more are mapped
        // and unmapped on their own.
        _ = mallopt(M_MMAP_THRESHOLD, 1 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, 1 << 20)
    }
}

/* Loaded with LD_PRELOAD only while bench/tools/hot-text-order.sh runs berth under valgrind:
 * valgrind refuses a close_range over its own high descriptors, which makes every posix_spawn
 * that closes "everything above N" fail with EBADF. Profiling only; never linked into berth. */
int posix_spawn_file_actions_addclosefrom_np(void *actions, int from) {
    (void)actions;
    (void)from;
    return 0;
}

import Foundation

/// The `process_*` metrics every Prometheus client exposes, read from /proc/self.
public enum ProcessMetrics {
    static let startTime = Date().timeIntervalSince1970

    public static func render(into writer: inout ExpositionWriter) {
        let statm = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8))?.split(separator: " ").compactMap { Double($0) } ?? []
        let page = Double(sysconf(Int32(_SC_PAGESIZE)))
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        // /proc/self/stat: utime and stime are fields 14 and 15, after the command in parentheses.
        let stat = (try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8)) ?? ""
        let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
        let cpu = fields.count > 13 ? ((Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)) / ticks : 0
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        writer.family("process_cpu_seconds_total", .counter, help: "Total user and system CPU time spent in seconds.")
        writer.sample("process_cpu_seconds_total", [:], cpu)
        writer.family("process_resident_memory_bytes", .gauge, help: "Resident memory size in bytes.")
        writer.sample("process_resident_memory_bytes", [:], statm.count > 1 ? statm[1] * page : 0)
        writer.family("process_virtual_memory_bytes", .gauge, help: "Virtual memory size in bytes.")
        writer.sample("process_virtual_memory_bytes", [:], statm.first.map { $0 * page } ?? 0)
        writer.family("process_open_fds", .gauge, help: "Number of open file descriptors.")
        writer.sample("process_open_fds", [:], Double(descriptors))
        writer.family("process_start_time_seconds", .gauge, help: "Start time of the process since unix epoch in seconds.")
        writer.sample("process_start_time_seconds", [:], startTime.rounded())
    }
}

import Foundation

/// A standard five-field cron schedule as CronJobs take it: minute, hour, day of month, month,
/// day of week; `*`, `?`, lists, ranges, `/` steps, month and weekday names, and the
/// descriptors `@yearly` `@annually` `@monthly` `@weekly` `@daily` `@midnight` `@hourly`. As in
/// cron, a restricted day of month and a restricted day of week match when either does.
public struct CronSchedule: Sendable, Hashable {
    let minutes: Set<Int>
    let hours: Set<Int>
    let days: Set<Int>
    let months: Set<Int>
    let weekdays: Set<Int>
    let anyDay: Bool
    let anyWeekday: Bool

    static let descriptors = ["@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
                              "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"]
    static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    static let weekdayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    /// Throws a message that says what is wrong, as the 422's detail.
    public init(_ text: String) throws(BerthError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("TZ=") || trimmed.hasPrefix("CRON_TZ=") {
            throw BerthError(.invalid, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead")
        }
        let expanded = Self.descriptors[trimmed.lowercased()] ?? trimmed
        if expanded.hasPrefix("@") { throw BerthError(.invalid, "unrecognized descriptor: \(trimmed)") }
        let fields = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else { throw BerthError(.invalid, "expected exactly 5 fields, found \(fields.count): \(trimmed)") }
        minutes = try Self.field(fields[0], 0...59, names: [])
        hours = try Self.field(fields[1], 0...23, names: [])
        days = try Self.field(fields[2], 1...31, names: [])
        months = try Self.field(fields[3], 1...12, names: Self.monthNames, firstName: 1)
        // 7 is Sunday too.
        weekdays = Set(try Self.field(fields[4], 0...7, names: Self.weekdayNames).map { $0 % 7 })
        anyDay = fields[2] == "*" || fields[2] == "?"
        anyWeekday = fields[4] == "*" || fields[4] == "?"
    }

    static func field(_ text: String, _ bounds: ClosedRange<Int>, names: [String], firstName: Int = 0) throws(BerthError) -> Set<Int> {
        var values = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw BerthError(.invalid, "too many slashes: \(part)") }
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed > 0 else { throw BerthError(.invalid, "invalid step: \(part)") }
                step = parsed
            }
            let range = pieces[0]
            var low: Int
            var high: Int
            if range == "*" || range == "?" {
                (low, high) = (bounds.lowerBound, bounds.upperBound)
            } else {
                let ends = range.split(separator: "-", omittingEmptySubsequences: false)
                guard ends.count <= 2, let first = value(ends[0], names: names, firstName: firstName) else {
                    throw BerthError(.invalid, "failed to parse \(part): expected a number or a range")
                }
                low = first
                high = ends.count == 2 ? (value(ends[1], names: names, firstName: firstName) ?? -1) : (pieces.count == 2 ? bounds.upperBound : first)
                guard high >= 0 else { throw BerthError(.invalid, "failed to parse \(part): expected a number or a range") }
            }
            guard bounds.contains(low), bounds.contains(high) else {
                throw BerthError(.invalid, "\(part) is beyond the range \(bounds.lowerBound)-\(bounds.upperBound)")
            }
            guard low <= high else { throw BerthError(.invalid, "beginning of range (\(low)) beyond end of range (\(high)): \(part)") }
            values.formUnion(stride(from: low, through: high, by: step))
        }
        return values
    }

    static func value(_ text: Substring, names: [String], firstName: Int) -> Int? {
        if let number = Int(text) { return number }
        return names.firstIndex(of: text.uppercased()).map { $0 + firstName }
    }

    /// Whether a minute (its wall-clock fields) is on the schedule.
    func matches(minute: Int, hour: Int, day: Int, month: Int, weekday: Int) -> Bool {
        guard minutes.contains(minute), hours.contains(hour), months.contains(month) else { return false }
        if anyDay && anyWeekday { return true }
        if anyDay { return weekdays.contains(weekday) }
        if anyWeekday { return days.contains(day) }
        return days.contains(day) || weekdays.contains(weekday)
    }

    func matches(_ date: Date, offset: @Sendable (Date) -> Int) -> Bool {
        let local = Int64(date.timeIntervalSince1970.rounded(.down)) + Int64(offset(date))
        let days = local >= 0 ? local / 86_400 : (local - 86_399) / 86_400
        let inDay = local - days * 86_400
        let (_, month, day) = RFC3339.civil(fromDays: days)
        let weekday = Int(((days % 7) + 11) % 7) // 1970-01-01 was a Thursday
        return matches(minute: Int(inDay / 60 % 60), hour: Int(inDay / 3600), day: Int(day), month: Int(month), weekday: weekday)
    }

    /// The latest scheduled minute in `(after, upTo]`, and how many there were.
    public func latest(after: Date, upTo: Date, offset: @Sendable (Date) -> Int = { _ in 0 }) -> (time: Date, count: Int)? {
        var minute = Self.minuteStart(after) + 60
        let end = upTo.timeIntervalSince1970
        var found: (Date, Int)?
        var checked = 0
        // A year of minutes at most: a controller that was down longer starts from the newest.
        while minute <= end && checked < 527_040 {
            let date = Date(timeIntervalSince1970: minute)
            if matches(date, offset: offset) { found = (date, (found?.1 ?? 0) + 1) }
            minute += 60
            checked += 1
        }
        return found
    }

    /// The first scheduled minute after `date` (within about four years, for February 29).
    public func next(after date: Date, offset: @Sendable (Date) -> Int = { _ in 0 }) -> Date? {
        var minute = Self.minuteStart(date) + 60
        for _ in 0..<(4 * 527_040 + 1440) {
            let candidate = Date(timeIntervalSince1970: minute)
            if matches(candidate, offset: offset) { return candidate }
            minute += 60
        }
        return nil
    }

    static func minuteStart(_ date: Date) -> TimeInterval { (date.timeIntervalSince1970 / 60).rounded(.down) * 60 }
}

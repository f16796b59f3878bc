@testable import BerthCore
import BerthTestSupport
import Foundation
import Testing

@Suite("cron schedules", .blockingAllowed)
struct CronScheduleTests {
    func date(_ text: String) -> Date { RFC3339.parse(text)! }

    @Test func fieldsListsRangesStepsAndNames() throws {
        let schedule = try CronSchedule("*/15 9-17 * JAN,mar-apr MON-FRI")
        #expect(schedule.minutes == [0, 15, 30, 45] && schedule.hours == Set(9...17))
        #expect(schedule.months == [1, 3, 4] && schedule.weekdays == [1, 2, 3, 4, 5])
        #expect(try CronSchedule("0 0 * * 7").weekdays == [0])
        #expect(try CronSchedule("5/20 * * * *").minutes == [5, 25, 45])
        #expect(try CronSchedule("@hourly") == CronSchedule("0 * * * *"))
        #expect(try CronSchedule("@weekly") == CronSchedule("0 0 * * 0"))
    }

    @Test func badSchedulesSayWhy() {
        for (text, fragment) in [("* * * *", "exactly 5 fields"), ("61 * * * *", "beyond the range"), ("* * * * MON-XYZ", "expected a number"),
                                 ("*/0 * * * *", "invalid step"), ("5-1 * * * *", "beyond end of range"), ("TZ=UTC * * * * *", "timeZone field"),
                                 ("@reboot", "unrecognized descriptor")] {
            do {
                _ = try CronSchedule(text)
                Issue.record("\(text) parsed")
            } catch {
                #expect(error.message.contains(fragment), "\(text): \(error.message)")
            }
        }
    }

    @Test func latestAndNextRuns() throws {
        let everyFive = try CronSchedule("*/5 * * * *")
        let latest = try #require(everyFive.latest(after: date("2026-12-01T10:02:00Z"), upTo: date("2026-12-01T10:17:30Z")))
        #expect(latest.time == date("2026-12-01T10:15:00Z") && latest.count == 3)
        #expect(everyFive.latest(after: date("2026-12-01T10:15:00Z"), upTo: date("2026-12-01T10:19:59Z")) == nil)
        #expect(everyFive.next(after: date("2026-12-01T10:15:00Z")) == date("2026-12-01T10:20:00Z"))
        // Day of month or day of week: 13th of the month, or a Friday.
        let either = try CronSchedule("0 0 13 * 5")
        #expect(either.next(after: date("2026-12-01T00:00:00Z")) == date("2026-12-04T00:00:00Z")) // a Friday
        #expect(either.next(after: date("2026-12-11T00:00:00Z")) == date("2026-12-13T00:00:00Z")) // the 13th, a Sunday
        #expect(try CronSchedule("0 0 29 2 *").next(after: date("2026-03-01T00:00:00Z")) == date("2028-02-29T00:00:00Z"))
        // In a zone two hours ahead, 09:00 there is 07:00 UTC.
        let nine = try CronSchedule("0 9 * * *")
        #expect(nine.next(after: date("2026-12-01T00:00:00Z"), offset: { _ in 7200 }) == date("2026-12-01T07:00:00Z"))
        #expect(CronJob.offset(zone: "Europe/Berlin")(date("2026-07-01T00:00:00Z")) == 7200)
    }
}

//! The overview's figures from the daily rollup: open findings on a day, the 90-day trend, new
//! and fixed per week, overdue findings and MTTR per severity. Pure: the rows come from
//! `db::overview::daily_totals`; a day or severity without a row counts zero.

use app::model::{KindCounts, Mttr, Severity, SeverityCounts, SlaPolicy, TrendDay, WeekFlow};
use chrono::{Datelike, Duration, NaiveDate};

/// The rollup of some clusters for one day and severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayTotals {
    /// The day.
    pub day: NaiveDate,
    /// The severity.
    pub severity: Severity,
    /// Open at the end of the day.
    pub open: i64,
    /// First seen that day.
    pub new: i64,
    /// Fixed that day.
    pub fixed: i64,
    /// Open past their due date at the end of the day.
    pub overdue: i64,
    /// How long the findings fixed that day had been open, in seconds, summed.
    pub fix_seconds: i64,
}

/// How many days the trend shows.
pub const TREND_DAYS: i64 = 90;
/// How many weeks the new-vs-fixed chart shows.
pub const FLOW_WEEKS: i64 = 13;

/// The first day the overview needs rollup rows for, when the newest day is `as_of`: the
/// trend's first day, the Monday of the oldest week shown, and the longest MTTR period.
pub fn first_day_needed(as_of: NaiveDate) -> NaiveDate {
    let trend = as_of - Duration::days(TREND_DAYS - 1);
    let flow = monday_of(as_of) - Duration::weeks(FLOW_WEEKS - 1);
    trend.min(flow)
}

/// The Monday of `day`'s week.
pub fn monday_of(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// Open findings at the end of `day`, by severity.
pub fn open_on(rows: &[DayTotals], day: NaiveDate) -> SeverityCounts {
    rows.iter()
        .filter(|r| r.day == day)
        .map(|r| (r.severity, r.open))
        .collect()
}

/// Overdue findings at the end of `day`, by severity.
pub fn overdue_on(rows: &[DayTotals], day: NaiveDate) -> SeverityCounts {
    rows.iter()
        .filter(|r| r.day == day)
        .map(|r| (r.severity, r.overdue))
        .collect()
}

/// Open findings per day for the [`TREND_DAYS`] ending on `as_of`, oldest first (every day
/// present, zero when the rollup has no row).
pub fn trend(rows: &[DayTotals], as_of: NaiveDate) -> Vec<TrendDay> {
    let first = as_of - Duration::days(TREND_DAYS - 1);
    let mut days: Vec<TrendDay> = (0..TREND_DAYS)
        .map(|i| TrendDay {
            day: first + Duration::days(i),
            open: SeverityCounts::default(),
            overdue: 0,
        })
        .collect();
    for r in rows {
        let index = (r.day - first).num_days();
        if let Some(day) = usize::try_from(index).ok().and_then(|i| days.get_mut(i)) {
            day.open.add(r.severity, r.open);
            day.overdue += r.overdue;
        }
    }
    days
}

/// New and fixed findings per week for the [`FLOW_WEEKS`] weeks up to `as_of`'s, oldest first.
/// The current week counts the days up to `as_of`.
pub fn weekly(rows: &[DayTotals], as_of: NaiveDate) -> Vec<WeekFlow> {
    let first = monday_of(as_of) - Duration::weeks(FLOW_WEEKS - 1);
    let mut weeks: Vec<WeekFlow> = (0..FLOW_WEEKS)
        .map(|i| WeekFlow {
            week: first + Duration::weeks(i),
            new: 0,
            fixed: 0,
        })
        .collect();
    for r in rows.iter().filter(|r| r.day <= as_of) {
        let index = (r.day - first).num_days().div_euclid(7);
        if let Some(week) = usize::try_from(index).ok().and_then(|i| weeks.get_mut(i)) {
            week.new += r.new;
            week.fixed += r.fixed;
        }
    }
    weeks
}

/// Open findings per kind on `as_of`, 7 and 30 days before, from (day, kind, open) rows; most
/// open first.
pub fn by_kind(rows: &[(NaiveDate, String, i64)], as_of: NaiveDate) -> Vec<KindCounts> {
    let mut kinds: Vec<KindCounts> = Vec::new();
    for (day, kind, open) in rows {
        let index = match kinds.iter().position(|k| &k.kind == kind) {
            Some(i) => i,
            None => {
                kinds.push(KindCounts {
                    kind: kind.clone(),
                    now: 0,
                    d7: 0,
                    d30: 0,
                });
                kinds.len() - 1
            }
        };
        let entry = &mut kinds[index];
        match (as_of - *day).num_days() {
            0 => entry.now += open,
            7 => entry.d7 += open,
            30 => entry.d30 += open,
            _ => {}
        }
    }
    kinds.retain(|k| k.now + k.d7 + k.d30 > 0);
    kinds.sort_by(|a, b| b.now.cmp(&a.now).then_with(|| a.kind.cmp(&b.kind)));
    kinds
}

/// Mean time to remediate per severity (worst first) over the `period` days ending on `as_of`.
pub fn mttr(rows: &[DayTotals], as_of: NaiveDate, period: i32, policy: &SlaPolicy) -> Vec<Mttr> {
    let from = as_of - Duration::days(i64::from(period) - 1);
    Severity::WORST_FIRST
        .into_iter()
        .map(|severity| {
            let (fixed, seconds) = rows
                .iter()
                .filter(|r| r.severity == severity && r.day >= from && r.day <= as_of)
                .fold((0i64, 0i64), |(n, s), r| (n + r.fixed, s + r.fix_seconds));
            Mttr {
                severity,
                fixed,
                days: (fixed > 0).then(|| seconds as f64 / fixed as f64 / 86_400.0),
                sla_days: policy.days_for(severity, false),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("a date")
    }

    fn row(d: &str, severity: Severity, open: i64, new: i64, fixed: i64, secs: i64) -> DayTotals {
        DayTotals {
            day: day(d),
            severity,
            open,
            new,
            fixed,
            overdue: 0,
            fix_seconds: secs,
        }
    }

    #[test]
    fn the_trend_has_every_day_with_zeros_where_the_rollup_has_none() {
        let rows = [
            row("2026-12-06", Severity::High, 5, 1, 0, 0),
            row("2026-12-06", Severity::Low, 2, 0, 0, 0),
            row("2026-12-04", Severity::High, 4, 0, 0, 0),
            row("2026-01-01", Severity::High, 99, 0, 0, 0),
        ];
        let t = trend(&rows, day("2026-12-06"));
        assert_eq!(t.len(), 90);
        assert_eq!(t[0].day, day("2026-09-08"));
        assert_eq!(t[89].open.get(Severity::High), 5);
        assert_eq!(t[89].open.total(), 7);
        assert_eq!(t[88].open.total(), 0);
        assert_eq!(t[87].open.get(Severity::High), 4);
        assert_eq!(t.iter().map(|d| d.open.total()).sum::<i64>(), 11);
    }

    #[test]
    fn weeks_start_on_monday_and_end_with_the_current_one() {
        // 2026-12-06 is a Sunday; its week starts on Monday 2026-11-30
        let rows = [
            row("2026-11-30", Severity::High, 0, 3, 1, 0),
            row("2026-12-06", Severity::Low, 0, 2, 4, 0),
            row("2026-11-29", Severity::Low, 0, 7, 0, 0),
        ];
        let w = weekly(&rows, day("2026-12-06"));
        assert_eq!(w.len(), 13);
        assert_eq!(w[12].week, day("2026-11-30"));
        assert_eq!((w[12].new, w[12].fixed), (5, 5));
        assert_eq!((w[11].new, w[11].fixed), (7, 0));
        assert_eq!(first_day_needed(day("2026-12-06")), day("2026-09-07"));
    }

    #[test]
    fn kinds_compare_today_with_a_week_and_a_month_before() {
        let as_of = day("2026-12-06");
        let rows = vec![
            (as_of, "vulnerability".to_owned(), 10),
            (day("2026-11-29"), "vulnerability".to_owned(), 12),
            (day("2026-11-06"), "secret".to_owned(), 3),
        ];
        let k = by_kind(&rows, as_of);
        assert_eq!(k[0].kind, "vulnerability");
        assert_eq!((k[0].now, k[0].d7, k[0].d30), (10, 12, 0));
        assert_eq!((k[1].now, k[1].d7, k[1].d30), (0, 0, 3));
    }

    #[test]
    fn mttr_is_the_mean_days_to_fix_within_the_period() {
        let rows = [
            row("2026-12-06", Severity::Critical, 0, 0, 2, 2 * 86_400 * 3),
            row("2026-11-20", Severity::Critical, 0, 0, 1, 86_400 * 9),
            row("2026-10-01", Severity::Critical, 0, 0, 5, 86_400 * 100),
        ];
        let policy = SlaPolicy::default();
        let m = mttr(&rows, day("2026-12-06"), 30, &policy);
        assert_eq!(m[0].severity, Severity::Critical);
        assert_eq!(m[0].fixed, 3);
        assert_eq!(m[0].days, Some(5.0)); // (3 + 3 + 9) / 3
        assert_eq!(m[0].sla_days, 7);
        assert_eq!(m[1].days, None);
        let week = mttr(&rows, day("2026-12-06"), 7, &policy);
        assert_eq!(week[0].days, Some(3.0));
    }
}

//! How far the demo is: on a terminal, one line on standard error rewritten in place; otherwise
//! (a log, CI) a log line at every tenth of the way.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Progress over a known number of reports.
#[derive(Debug)]
pub struct Progress {
    total: usize,
    done: usize,
    findings: u64,
    days: u16,
    started: Instant,
    drawn: Option<Instant>,
    terminal: bool,
}

impl Progress {
    /// Progress over `total` reports spanning `days` days.
    pub fn new(total: usize, days: u16) -> Progress {
        Progress {
            total,
            done: 0,
            findings: 0,
            days,
            started: Instant::now(),
            drawn: None,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// One more report stored, from day `day`, which created `new` findings.
    pub fn step(&mut self, new: u64, day: u16) {
        let before = self.done * 10 / self.total.max(1);
        self.done += 1;
        self.findings += new;
        if self.terminal {
            if self
                .drawn
                .is_none_or(|t| t.elapsed() >= Duration::from_millis(200))
            {
                self.draw(day);
            }
        } else if self.done * 10 / self.total.max(1) > before {
            tracing::info!(
                reports = self.done,
                of = self.total,
                day,
                findings = self.findings,
                seconds = self.started.elapsed().as_secs(),
                "loading the demo fleet"
            );
        }
    }

    /// Ends the line on a terminal.
    pub fn finish(&mut self) {
        if self.terminal {
            self.draw(self.days);
            let _ = writeln!(std::io::stderr());
        }
    }

    fn draw(&mut self, day: u16) {
        self.drawn = Some(Instant::now());
        let _ = write!(
            std::io::stderr(),
            "\r\x1b[2Kdemo: {}/{} reports ({}%) · day {day} of {} · {} findings · {} s",
            self.done,
            self.total,
            self.done * 100 / self.total.max(1),
            self.days,
            self.findings,
            self.started.elapsed().as_secs()
        );
    }
}

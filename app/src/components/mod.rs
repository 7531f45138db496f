//! Prop-driven pieces of the interface, the building blocks every page reuses: the data table,
//! the async region (loading, error boundary, one error presentation), the flash message,
//! severity badges and charts, the page frame, keyboard shortcuts, and text formatting.
//!
//! Components render what they are given. They never call server functions and own no
//! resources: pages (and the `App` for the frame) do, and pass data or resources in. A test in
//! this module holds that line.

pub mod async_region;
pub mod chart;
pub mod flash;
pub mod format;
pub mod layout;
pub mod saved_views;
pub mod severity;
pub mod shortcuts;
pub mod table;
pub mod theme;
pub mod where_running;

#[cfg(test)]
mod tests {
    /// Every component's source, by file name.
    const SOURCES: &[(&str, &str)] = &[
        ("async_region.rs", include_str!("async_region.rs")),
        ("chart/mod.rs", include_str!("chart/mod.rs")),
        ("chart/area.rs", include_str!("chart/area.rs")),
        ("chart/bar.rs", include_str!("chart/bar.rs")),
        ("chart/donut.rs", include_str!("chart/donut.rs")),
        ("chart/line.rs", include_str!("chart/line.rs")),
        ("chart/sparkline.rs", include_str!("chart/sparkline.rs")),
        ("flash.rs", include_str!("flash.rs")),
        ("format.rs", include_str!("format.rs")),
        ("layout.rs", include_str!("layout.rs")),
        ("saved_views.rs", include_str!("saved_views.rs")),
        ("severity.rs", include_str!("severity.rs")),
        ("shortcuts.rs", include_str!("shortcuts.rs")),
        ("table.rs", include_str!("table.rs")),
        ("theme.rs", include_str!("theme.rs")),
        ("where_running.rs", include_str!("where_running.rs")),
    ];

    #[test]
    fn components_never_call_server_functions_or_own_resources() {
        for (file, source) in SOURCES {
            for forbidden in [
                "crate::api",
                "Resource::new",
                "resource(",
                "ServerAction::new",
            ] {
                assert!(
                    !source.contains(forbidden),
                    "components/{file} uses {forbidden}: pages own data"
                );
            }
        }
    }

    #[test]
    fn every_component_file_is_checked() {
        // a module that is a folder (`chart/`) is checked file by file
        let listed = include_str!("mod.rs")
            .lines()
            .filter_map(|l| l.strip_prefix("pub mod "))
            .map(|m| m.trim_end_matches(';').to_owned())
            .collect::<Vec<_>>();
        let mut checked = SOURCES
            .iter()
            .map(|(f, _)| f.split(['/', '.']).next().unwrap_or_default().to_owned())
            .collect::<Vec<_>>();
        checked.dedup();
        assert_eq!(listed, checked);
        let chart_files = include_str!("chart/mod.rs")
            .lines()
            .filter(|l| l.starts_with("mod ") && l.ends_with(';'))
            .count();
        let chart_checked = SOURCES
            .iter()
            .filter(|(f, _)| f.starts_with("chart/"))
            .count();
        assert_eq!(
            chart_checked,
            chart_files + 1,
            "every chart file is checked"
        );
    }
}

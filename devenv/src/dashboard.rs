//! The dashboard: the Shiny app the warehouse instance serves, run by
//! Rscript as a child, connecting with the libpq variables of the read-only
//! role. Without R or its packages the platform runs without it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::child::{ChildSpec, RunAs};

/// The child's name, in notices, logs and the state file.
pub const NAME: &str = "dashboard";

/// The R packages the app loads, as Debian packages them (`r-cran-<lower case>`).
const R_PACKAGES: &[&str] = &[
    "shiny",
    "bslib",
    "plotly",
    "DT",
    "dplyr",
    "lubridate",
    "DBI",
    "RPostgreSQL",
    "memoise",
];

/// Whether the dashboard can run here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    Ready {
        rscript: PathBuf,
    },
    /// Why not, and the command that installs what is missing.
    Missing(String),
}

pub fn availability() -> Availability {
    let Some(rscript) = on_path("Rscript") else {
        return Availability::Missing(install_hint(
            "R is not installed",
            std::iter::once("r-base-core").chain(R_PACKAGES.iter().copied()),
        ));
    };
    let probe = std::process::Command::new(&rscript)
        .args([
            "--vanilla",
            "-e",
            &format!(
                "p <- c({}); cat(p[!nzchar(vapply(p, function(x) system.file(package = x), ''))])",
                R_PACKAGES
                    .iter()
                    .map(|p| format!("'{p}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ])
        .output();
    match probe {
        Ok(output) if output.status.success() => {
            let missing = String::from_utf8_lossy(&output.stdout).into_owned();
            let missing: Vec<&str> = missing.split_whitespace().collect();
            if missing.is_empty() {
                Availability::Ready { rscript }
            } else {
                Availability::Missing(install_hint(
                    &format!("R lacks the packages {}", missing.join(", ")),
                    missing.iter().copied(),
                ))
            }
        }
        _ => Availability::Missing(install_hint(
            "Rscript does not run",
            std::iter::once("r-base-core"),
        )),
    }
}

fn install_hint<'a>(why: &str, packages: impl Iterator<Item = &'a str>) -> String {
    let debian: Vec<String> = packages
        .map(|p| {
            if p.starts_with("r-") {
                p.to_owned()
            } else {
                format!("r-cran-{}", p.to_lowercase())
            }
        })
        .collect();
    format!(
        "{why}; install them with `sudo apt-get install {}` and start again",
        debian.join(" ")
    )
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
}

/// `Rscript -e 'shiny::runApp("<app>", port = P)'` with the warehouse's
/// libpq variables.
pub fn spec(
    rscript: &Path,
    app: &Path,
    port: u16,
    env: Vec<(String, String)>,
    log: PathBuf,
) -> ChildSpec {
    let app_literal = serde_json::to_string(&app.to_string_lossy()).expect("a string serializes");
    ChildSpec {
        name: NAME,
        program: rscript.to_path_buf(),
        args: vec![
            "-e".into(),
            format!(
                "shiny::runApp({app_literal}, port = {port}, host = '127.0.0.1', launch.browser = FALSE)"
            )
            .into(),
        ],
        env,
        cwd: app.to_path_buf(),
        log,
        run_as: RunAs::Me,
        stop_signal: libc::SIGTERM,
        grace: Duration::from_secs(2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_names_debian_packages() {
        assert_eq!(
            install_hint("R lacks the packages DT, RPostgreSQL", ["DT", "RPostgreSQL"].into_iter()),
            "R lacks the packages DT, RPostgreSQL; install them with `sudo apt-get install r-cran-dt r-cran-rpostgresql` and start again"
        );
        let no_r = install_hint(
            "R is not installed",
            std::iter::once("r-base-core").chain(R_PACKAGES.iter().copied()),
        );
        assert!(no_r.contains("apt-get install r-base-core r-cran-shiny r-cran-bslib"));
    }

    #[test]
    fn the_app_path_is_an_r_string() {
        let spec = spec(
            Path::new("/usr/bin/Rscript"),
            Path::new("/src/my \"shop\"/dashboard"),
            3838,
            Vec::new(),
            PathBuf::from("/tmp/d.log"),
        );
        assert_eq!(
            spec.args[1].to_string_lossy(),
            r#"shiny::runApp("/src/my \"shop\"/dashboard", port = 3838, host = '127.0.0.1', launch.browser = FALSE)"#
        );
    }
}

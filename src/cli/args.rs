//! The command line: which command, on which file, and the help texts.

use std::path::PathBuf;

/// The file read when none is named.
pub(crate) const DEFAULT_FILE: &str = "lightapi.toml";

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// Serve the API the file declares until SIGINT/SIGTERM.
    Serve(PathBuf),
    /// Check the file and compare each model with its table.
    Check(PathBuf),
    /// List every route with its methods and access.
    Routes(PathBuf),
    /// Print the OpenAPI document.
    OpenApi(PathBuf),
    /// Hash a password read from standard input.
    HashPassword,
    /// Write a starter file (`-`: standard output) from a database's tables.
    Init {
        /// The database to read.
        url: String,
        /// Where to write the file.
        file: PathBuf,
    },
    /// Print a help text.
    Help(&'static str),
    /// Print the version.
    Version,
}

/// The overall help.
pub(crate) const USAGE: &str = "\
lightapi: serve a REST API declared in a TOML file

Usage: lightapi <COMMAND> [FILE]

Commands:
  serve [FILE]      serve the API (FILE defaults to lightapi.toml)
  check [FILE]      check the file, and each model against its table
  routes [FILE]     list the routes, their methods and who may use them
  openapi [FILE]    print the OpenAPI document (JSON) to standard output
  hash-password     read a password from standard input, print its argon2id hash
  init --from-database URL [FILE]
                    write a starter FILE (default lightapi.toml) from the tables
  help [COMMAND]    this text, or a command's

Options:
  -h, --help        help (after a command: that command's)
  -V, --version     the version

The LIGHTAPI_* environment variables override the file's settings.

Exit status: 0 success; 1 a runtime or database failure (including a
table that does not match its model); 2 a usage mistake, a bad file or a
bad LIGHTAPI_* value.
";

const SERVE: &str = "\
Usage: lightapi serve [FILE]

Serves the API FILE (default lightapi.toml) declares until SIGINT or
SIGTERM, then shuts down gracefully. LIGHTAPI_* variables override the
file (LIGHTAPI_PORT=0 picks a free port; the address is logged).

Exit status: 0 after a clean shutdown; 1 when the server cannot start or
stops on a failure; 2 when the file is wrong.
";

const CHECK: &str = "\
Usage: lightapi check [FILE]

Checks FILE (default lightapi.toml) and its declarations, connects to its
database and compares every model with its table, printing each
difference with the statements that fix it. Changes nothing.

Exit status: 0 when everything matches (a missing table is reported;
serve creates it); 1 when a table differs or the database cannot be
reached; 2 when the file is wrong.
";

const ROUTES: &str = "\
Usage: lightapi routes [FILE]

Lists every route of the API FILE (default lightapi.toml) declares, one a
line: the path, then each method with who may use it (public,
authenticated, admin, or check for a custom rule). The database is not
touched.

Exit status: 0; 2 when the file is wrong.
";

const OPENAPI: &str = "\
Usage: lightapi openapi [FILE]

Prints the OpenAPI 3.1 document of the API FILE (default lightapi.toml)
declares, as served at /openapi.json. The database is not touched.

Exit status: 0; 2 when the file is wrong.
";

const HASH_PASSWORD: &str = "\
Usage: lightapi hash-password < password.txt

Reads one password from standard input (up to the first line break) and
prints its argon2id hash as a PHC string, for the password column of the
table [login] names.

Exit status: 0; 1 when standard input cannot be read; 2 when it is empty.
";

const INIT: &str = "\
Usage: lightapi init --from-database URL [FILE]

Writes a starter FILE (default lightapi.toml; - for standard output) with
a model for each table of the database at URL whose primary key is an
integer column `id` and whose columns the file can declare; every other
table is reported as skipped, with the reason. A password in URL is
written as ${DATABASE_PASSWORD}. An existing FILE is never overwritten.

Exit status: 0; 1 when the database cannot be read; 2 on a usage mistake
or when FILE exists.
";

/// The command `args` (without the program name) asks for.
///
/// # Errors
/// A usage mistake, as a line to print before the usage.
pub(crate) fn parse(args: &[String]) -> Result<Command, String> {
    let mut words = args.iter().map(String::as_str);
    let Some(first) = words.next() else {
        return Ok(Command::Help(USAGE));
    };
    let rest: Vec<&str> = words.collect();
    let wants_help = rest.iter().any(|a| matches!(*a, "-h" | "--help"));
    let with_file = |make: fn(PathBuf) -> Command, help: &'static str| {
        if wants_help {
            return Ok(Command::Help(help));
        }
        match rest.as_slice() {
            [] => Ok(make(PathBuf::from(DEFAULT_FILE))),
            [file] if !file.starts_with('-') || *file == "-" => Ok(make(PathBuf::from(file))),
            [option] => Err(format!("unknown option {option:?}")),
            [_, extra, ..] => Err(format!("unexpected argument {extra:?}: one FILE at most")),
        }
    };
    match first {
        "-h" | "--help" => Ok(Command::Help(USAGE)),
        "-V" | "--version" => Ok(Command::Version),
        "help" => match rest.as_slice() {
            [] => Ok(Command::Help(USAGE)),
            [name] => help_of(name)
                .map(Command::Help)
                .ok_or_else(|| format!("no command {name:?}")),
            [_, extra, ..] => Err(format!("unexpected argument {extra:?}")),
        },
        "serve" => with_file(Command::Serve, SERVE),
        "check" => with_file(Command::Check, CHECK),
        "routes" => with_file(Command::Routes, ROUTES),
        "openapi" => with_file(Command::OpenApi, OPENAPI),
        "init" => match rest.as_slice() {
            _ if wants_help => Ok(Command::Help(INIT)),
            ["--from-database", url] => Ok(Command::Init {
                url: (*url).to_owned(),
                file: PathBuf::from(DEFAULT_FILE),
            }),
            ["--from-database", url, file] => Ok(Command::Init {
                url: (*url).to_owned(),
                file: PathBuf::from(file),
            }),
            _ => Err("init needs --from-database URL [FILE]".to_owned()),
        },
        "hash-password" => match rest.as_slice() {
            _ if wants_help => Ok(Command::Help(HASH_PASSWORD)),
            [] => Ok(Command::HashPassword),
            [extra, ..] => Err(format!(
                "unexpected argument {extra:?}: the password is read from standard input"
            )),
        },
        other => Err(format!("unknown command {other:?}")),
    }
}

fn help_of(command: &str) -> Option<&'static str> {
    Some(match command {
        "serve" => SERVE,
        "check" => CHECK,
        "routes" => ROUTES,
        "openapi" => OPENAPI,
        "hash-password" => HASH_PASSWORD,
        "init" => INIT,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, String> {
        parse(&args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn commands_take_an_optional_file() {
        assert_eq!(p(&["serve"]), Ok(Command::Serve(DEFAULT_FILE.into())));
        assert_eq!(p(&["check", "a.toml"]), Ok(Command::Check("a.toml".into())));
        assert_eq!(p(&["routes", "b"]), Ok(Command::Routes("b".into())));
        assert_eq!(p(&["openapi"]), Ok(Command::OpenApi(DEFAULT_FILE.into())));
        assert_eq!(p(&["hash-password"]), Ok(Command::HashPassword));
        assert_eq!(
            p(&["init", "--from-database", "sqlite://a.db", "-"]),
            Ok(Command::Init {
                url: "sqlite://a.db".into(),
                file: "-".into()
            })
        );
        assert!(p(&["init"]).is_err());
    }

    #[test]
    fn help_is_given_everywhere() {
        assert_eq!(p(&[]), Ok(Command::Help(USAGE)));
        assert_eq!(p(&["--help"]), Ok(Command::Help(USAGE)));
        assert_eq!(p(&["serve", "--help"]), Ok(Command::Help(SERVE)));
        assert_eq!(p(&["check", "f", "-h"]), Ok(Command::Help(CHECK)));
        assert_eq!(p(&["help", "openapi"]), Ok(Command::Help(OPENAPI)));
        assert_eq!(
            p(&["hash-password", "-h"]),
            Ok(Command::Help(HASH_PASSWORD))
        );
    }

    #[test]
    fn mistakes_are_named() {
        assert!(p(&["srve"]).unwrap_err().contains("unknown command"));
        assert!(p(&["serve", "a", "b"]).unwrap_err().contains("\"b\""));
        assert!(p(&["serve", "--port"])
            .unwrap_err()
            .contains("unknown option"));
        assert!(p(&["hash-password", "x"]).is_err());
        assert!(p(&["help", "nope"]).is_err());
    }
}

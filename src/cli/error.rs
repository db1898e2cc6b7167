//! The command's failures and the exit status of each.

use std::fmt;

/// Exit status of a success.
pub const EXIT_OK: u8 = 0;
/// Exit status of a failure at run time: the server could not start or
/// failed, the database could not be reached, or a table differs from its
/// model (`check`).
pub const EXIT_FAILURE: u8 = 1;
/// Exit status of a usage mistake, a file that is wrong, or a `LIGHTAPI_*`
/// variable that does not parse.
pub const EXIT_USAGE: u8 = 2;

/// Why a command failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CliError {
    /// The command line is wrong.
    Usage(String),
    /// The file is missing, does not parse, or declares something wrong.
    File(String),
    /// The command could not be carried out.
    Runtime(String),
}

impl CliError {
    /// The exit status scripts see.
    pub(crate) fn exit_status(&self) -> u8 {
        match self {
            CliError::Usage(_) | CliError::File(_) => EXIT_USAGE,
            CliError::Runtime(_) => EXIT_FAILURE,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) | CliError::File(m) | CliError::Runtime(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for CliError {}

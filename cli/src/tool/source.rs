//! Loads a migration folder at run time with the same scan the macro uses.

use super::check::{print_diagnostics, Summary};
use crate::exit;
use std::path::Path;
use tidemark::Migrations;
use tidemark_core::{scan, ScanOptions};

/// Scans `dir`; on errors prints them as the compiler would and returns the exit code.
pub(crate) fn load(dir: &Path, ignore: &[String], json: bool) -> Result<Migrations, u8> {
    let options = ScanOptions {
        display_path: Some(dir.display().to_string().trim_end_matches('/').to_owned()),
        ignore: ignore.to_vec(),
        audience: tidemark_core::Audience::Cli,
    };
    match scan(dir, &options) {
        Ok(set) => Ok(tidemark::__private::from_scanned(set)),
        Err(diagnostics) => {
            let read = tidemark_core::check(dir, &options).read;
            print_diagnostics(&diagnostics, &Summary::count(read), json);
            Err(exit::FAILURE)
        }
    }
}

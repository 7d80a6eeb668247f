//! The command line: `--name value` options (some repeatable) and positional arguments.

use crate::Failure;

/// Parsed arguments of one command.
pub struct Args {
    options: Vec<(String, String)>,
    /// Arguments that are not options, in order.
    pub positional: Vec<String>,
}

impl Args {
    /// Splits `argv` (after the command) into options and positional arguments.
    pub fn parse(argv: Vec<String>) -> Result<Args, String> {
        let mut options = Vec::new();
        let mut positional = Vec::new();
        let mut it = argv.into_iter();
        while let Some(arg) = it.next() {
            if let Some(name) = arg.strip_prefix("--") {
                let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
                options.push((name.to_string(), value));
            } else {
                positional.push(arg);
            }
        }
        Ok(Args { options, positional })
    }

    /// Refuses options outside `allowed` and a positional count other than `positional`.
    pub fn only(&self, allowed: &[&str], positional: usize) -> Result<(), Failure> {
        if let Some((name, _)) = self.options.iter().find(|(n, _)| !allowed.contains(&n.as_str())) {
            return Err(Failure::Usage(format!("unknown option --{name}")));
        }
        if self.positional.len() != positional {
            return Err(Failure::Usage(format!(
                "expected {positional} file argument(s), got {}",
                self.positional.len()
            )));
        }
        Ok(())
    }

    /// The value of `--name`, given once.
    pub fn one(&self, name: &str) -> Result<&str, Failure> {
        match self.all(name).as_slice() {
            [v] => Ok(v),
            [] => Err(Failure::Usage(format!("--{name} is required"))),
            _ => Err(Failure::Usage(format!("--{name} given more than once"))),
        }
    }

    /// The value of `--name` if given (at most once).
    pub fn optional(&self, name: &str) -> Option<&str> {
        self.options.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Every value of a repeatable `--name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.options.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect()
    }
}

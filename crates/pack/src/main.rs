//! `mle-pack`: makes, signs, verifies and inspects model packages (docs/packages.md).
//!
//! ```text
//! mle-pack keygen --out <name>                 <name>.key (secret, mode 0600) and <name>.pub
//! mle-pack pack --model <model.onnx> [--tokenizer <tokenizer.json>] [--card <card.json>]
//!               [--golden <cases.csv>] --package-version <n> --out <file.mlepkg> [--key <name.key>]
//! mle-pack sign --key <name.key> <file.mlepkg> [--out <signed.mlepkg>]
//! mle-pack verify [--trusted-key <name.pub>]... [--min-package-version <n>] <file.mlepkg>
//! mle-pack inspect <file.mlepkg>
//! ```
//!
//! `pack` loads the package it is about to write through the runtime and runs its golden cases:
//! a model the runtime cannot serve (an operator tract lacks, a card that does not parse) or a
//! golden case it answers otherwise is reported and nothing is written. Exit status: 0 done, 1 the
//! package or model was refused (the message says why), 2 a usage error.

mod args;
mod golden;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mlops_edge::deploy::selftest;
use mlops_edge::package::{self, PublicKey, SecretKey, TrustPolicy};
use mlops_edge::{Model, ModelOptions, Session};

use args::Args;

fn main() -> ExitCode {
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.is_empty() || argv[0] == "--help" || argv[0] == "-h" {
        eprintln!("{}", USAGE);
        return ExitCode::from(2);
    }
    let command = argv.remove(0);
    let args = match Args::parse(argv) {
        Ok(a) => a,
        Err(e) => return usage_error(&e),
    };
    let result = match command.as_str() {
        "keygen" => keygen(&args),
        "pack" => pack(&args),
        "sign" => sign(&args),
        "verify" => verify(&args),
        "inspect" => inspect(&args),
        other => return usage_error(&format!("unknown command {other:?}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(e)) => usage_error(&e),
        Err(Failure::Refused(e)) => {
            eprintln!("mle-pack {command}: {e}");
            ExitCode::from(1)
        }
    }
}

const USAGE: &str = "usage:
  mle-pack keygen --out <name>
  mle-pack pack --model <model.onnx> [--tokenizer <tokenizer.json>] [--card <card.json>] [--golden <cases.csv>]
                --package-version <n> --out <file.mlepkg> [--key <name.key>]
  mle-pack sign --key <name.key> <file.mlepkg> [--out <signed.mlepkg>]
  mle-pack verify [--trusted-key <name.pub>]... [--min-package-version <n>] <file.mlepkg>
  mle-pack inspect <file.mlepkg>";

fn usage_error(message: &str) -> ExitCode {
    eprintln!("mle-pack: {message}\n{USAGE}");
    ExitCode::from(2)
}

/// Why a command stopped.
enum Failure {
    /// The command line is wrong (exit status 2).
    Usage(String),
    /// The package, model or key was refused (exit status 1).
    Refused(String),
}

impl From<mlops_edge::Error> for Failure {
    fn from(e: mlops_edge::Error) -> Failure {
        Failure::Refused(format!("{} ({})", e.message(), e.status().name()))
    }
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::Refused(format!("{}: {e}", path.display())))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    // Written next to the target, then renamed: a reader never sees half a package.
    let tmp = path.with_extension("mle-pack-tmp");
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| Failure::Refused(format!("{}: {e}", path.display())))
}

fn keygen(args: &Args) -> Result<(), Failure> {
    args.only(&["out"], 0)?;
    let name = PathBuf::from(args.one("out")?);
    let mut seed = [0u8; 32];
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .map_err(|e| Failure::Refused(format!("reading /dev/urandom: {e}")))?;
    let key = SecretKey::from_seed(seed)?;
    let secret = name.with_extension("key");
    let public = name.with_extension("pub");
    for path in [&secret, &public] {
        if path.exists() {
            return Err(Failure::Refused(format!("{} exists: keygen never overwrites a key", path.display())));
        }
    }
    {
        use std::io::Write;
        #[cfg(unix)]
        use std::os::unix::fs::OpenOptionsExt;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        options.mode(0o600);
        let mut file = options.open(&secret).map_err(|e| Failure::Refused(format!("{}: {e}", secret.display())))?;
        writeln!(file, "{}", key.to_hex()).map_err(|e| Failure::Refused(format!("{}: {e}", secret.display())))?;
    }
    write(&public, format!("{}\n", key.public_key().to_hex()).as_bytes())?;
    println!(
        "secret key {} (keep it off devices), public key {}: {}",
        secret.display(),
        public.display(),
        key.public_key().to_hex()
    );
    Ok(())
}

fn secret_key(path: &str) -> Result<SecretKey, Failure> {
    let text = String::from_utf8(read(Path::new(path))?).map_err(|_| Failure::Refused(format!("{path}: not text")))?;
    SecretKey::from_hex(&text).map_err(|e| Failure::Refused(format!("{path}: {}", e.message())))
}

fn public_key(path: &str) -> Result<PublicKey, Failure> {
    let text = String::from_utf8(read(Path::new(path))?).map_err(|_| Failure::Refused(format!("{path}: not text")))?;
    PublicKey::from_hex(&text).map_err(|e| Failure::Refused(format!("{path}: {}", e.message())))
}

fn pack(args: &Args) -> Result<(), Failure> {
    args.only(&["model", "tokenizer", "card", "golden", "package-version", "out", "key"], 0)?;
    let model_bytes = read(Path::new(args.one("model")?))?;
    let tokenizer = args.optional("tokenizer").map(|p| read(Path::new(p))).transpose()?;
    let card = args.optional("card").map(|p| read(Path::new(p))).transpose()?;
    let package_version: u64 = args
        .one("package-version")?
        .parse()
        .map_err(|_| Failure::Usage("--package-version takes a whole number".into()))?;
    let out = PathBuf::from(args.one("out")?);

    // The model as the runtime sees it, to name the card and to read the golden cases with its
    // input kind.
    let plain = Model::from_bytes(
        &model_bytes,
        tokenizer.as_deref(),
        card.as_deref()
            .map(std::str::from_utf8)
            .transpose()
            .map_err(|_| Failure::Refused("the card is not UTF-8".into()))?,
        &ModelOptions::default(),
    )
    .map_err(|e| {
        Failure::Refused(format!("the runtime cannot serve this model: {} ({})", e.message(), e.status().name()))
    })?;
    let cases = match args.optional("golden") {
        Some(path) => Some(golden::cases_json(Path::new(path), plain.input_kind())?),
        None => None,
    };
    let mut files: Vec<(&str, &[u8])> = vec![(package::MODEL, &model_bytes)];
    if let Some(t) = &tokenizer {
        files.push((package::TOKENIZER, t));
    }
    if let Some(c) = &card {
        files.push((package::CARD, c));
    }
    if let Some(c) = &cases {
        files.push((package::SELF_TEST, c));
    }
    let card = plain.card();
    let mut bytes = package::build(&files, package_version, &card.name, &card.version)?;
    if let Some(key) = args.optional("key") {
        bytes = package::sign(&bytes, &secret_key(key)?)?;
    }
    let (model, passed) = load_and_self_test(&bytes, &TrustPolicy::default())?;
    write(&out, &bytes)?;
    println!(
        "{}: {} {} (package_version {package_version}, {} bytes, {}), {passed} golden cases passed",
        out.display(),
        nonempty(&model.card().name),
        nonempty(&model.card().version),
        bytes.len(),
        if model.provenance().signer.is_some() { "signed" } else { "unsigned: sign it with mle-pack sign" }
    );
    Ok(())
}

fn nonempty(s: &str) -> &str {
    if s.is_empty() {
        "(unnamed)"
    } else {
        s
    }
}

/// Loads the package through the runtime (every check of `policy`) and runs its golden cases on
/// a session.
fn load_and_self_test(bytes: &[u8], policy: &TrustPolicy) -> Result<(Model, usize), Failure> {
    let options = ModelOptions { trust: policy.clone(), ..ModelOptions::default() };
    let model = Model::from_package(bytes, &options)?;
    let cases = selftest::cases_from_card(&model)?;
    let mut session = Session::new(&model)?;
    let passed = selftest::run(&mut session, &cases)?;
    Ok((model, passed))
}

fn sign(args: &Args) -> Result<(), Failure> {
    args.only(&["key", "out"], 1)?;
    let input = PathBuf::from(&args.positional[0]);
    let key = secret_key(args.one("key")?)?;
    let signed = package::sign(&read(&input)?, &key)?;
    let out = args.optional("out").map(PathBuf::from).unwrap_or_else(|| input.clone());
    write(&out, &signed)?;
    println!("{}: signed by key {}", out.display(), key.public_key().to_hex());
    Ok(())
}

fn verify(args: &Args) -> Result<(), Failure> {
    args.only(&["trusted-key", "min-package-version"], 1)?;
    let keys = args.all("trusted-key").iter().map(|p| public_key(p)).collect::<Result<Vec<_>, _>>()?;
    let min_package_version = match args.optional("min-package-version") {
        Some(v) => v.parse().map_err(|_| Failure::Usage("--min-package-version takes a whole number".into()))?,
        None => 0,
    };
    let policy = TrustPolicy { keys, min_package_version };
    let path = PathBuf::from(&args.positional[0]);
    let (model, passed) = load_and_self_test(&read(&path)?, &policy)?;
    let p = model.provenance();
    println!(
        "{}: verified ({}; package_version {}), loads and serves, {passed} golden cases passed",
        path.display(),
        match p.signer {
            Some(k) if policy.requires_signature() => format!("signed by trusted key {}", k.to_hex()),
            Some(k) => format!("signed by key {} (no trusted key given: its owner was not checked)", k.to_hex()),
            None => "unsigned: give --trusted-key to require a signature".to_string(),
        },
        p.package_version.unwrap_or(0)
    );
    Ok(())
}

fn inspect(args: &Args) -> Result<(), Failure> {
    args.only(&[], 1)?;
    let path = PathBuf::from(&args.positional[0]);
    let bytes = read(&path)?;
    let package = package::open(&bytes, &TrustPolicy::default())?;
    let m = &package.manifest;
    println!("package {}: {} bytes", path.display(), bytes.len());
    println!("model {} {}, package_version {}", nonempty(&m.name), nonempty(&m.version), m.package_version);
    println!("files:");
    for f in &m.files {
        println!("  {:<16} {:>12} bytes  sha256 {}", f.name, f.bytes, mlops_edge::hex::encode(&f.sha256));
    }
    match package.provenance.signer {
        Some(k) => println!("signature: ed25519 by {} (verifies over the manifest)", k.to_hex()),
        None => println!("signature: none"),
    }
    if let Some(h) = package.provenance.manifest_sha256 {
        println!("manifest sha256 {}", mlops_edge::hex::encode(&h));
    }
    let model = Model::from_package(&bytes, &ModelOptions::default())?;
    let card = model.card();
    println!("card:");
    for (key, value) in &card.properties {
        let shown: String = value.chars().take(100).collect();
        let more = if value.chars().count() > 100 { "…" } else { "" };
        println!("  {key}: {shown}{more}");
    }
    println!(
        "runtime: {} input, {} labels ({}), input length {}, plans for {:?}",
        model.input_kind().as_str(),
        model.labels().len(),
        model.labels().iter().map(|l| &**l).collect::<Vec<_>>().join(", "),
        model.max_input_length(),
        model.plan_lengths()
    );
    println!("plan: {}", model.plan_summary().iter().map(|(op, n)| format!("{op}×{n}")).collect::<Vec<_>>().join(" "));
    println!("golden cases: {}", selftest::cases_from_card(&model)?.len());
    Ok(())
}

use clap::Parser;
use pwreset::cli::{self, Cli, CliError};
use pwreset::config::Settings;
use pwreset::logging::{self, LogFormat};

#[tokio::main]
async fn main() {
    // A missing .env is normal; variables may come from the environment.
    let _ = dotenvy::dotenv();
    // The logger first, so every line is in LOG_FORMAT's format; a wrong
    // value is reported (in text) by the settings below.
    let format = LogFormat::parse(std::env::var("LOG_FORMAT").ok().as_deref()).unwrap_or_default();
    logging::init(format);

    let (code, why) = match cli::run(Cli::parse(), Settings::from_env).await {
        Ok(()) => return,
        Err(CliError::Config(e)) => (2, e.to_string()),
        Err(CliError::Failed(e)) => (1, format!("{e:#}")),
    };
    // With LOG_FORMAT=json even the last word is a JSON line.
    match format {
        LogFormat::Json => log::error!("{why}"),
        LogFormat::Text => eprintln!("pwreset: {why}"),
    }
    std::process::exit(code);
}

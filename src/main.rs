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
    let format = std::env::var("LOG_FORMAT").ok();
    logging::init(LogFormat::parse(format.as_deref()).unwrap_or_default());

    match cli::run(Cli::parse(), Settings::from_env).await {
        Ok(()) => {}
        Err(CliError::Config(e)) => {
            eprintln!("pwreset: {e}");
            std::process::exit(2);
        }
        Err(CliError::Failed(e)) => {
            eprintln!("pwreset: {e:#}");
            std::process::exit(1);
        }
    }
}

use clap::Parser;
use pwreset::cli::{self, Cli, CliError};
use pwreset::config::Settings;

#[tokio::main]
async fn main() {
    // A missing .env is normal; variables may come from the environment.
    let _ = dotenvy::dotenv();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();

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

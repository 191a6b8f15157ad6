use clap::Parser;
use pwreset::cli::{self, Cli};
use pwreset::config::Settings;

#[tokio::main]
async fn main() {
    // A missing .env is normal; variables may come from the environment.
    let _ = dotenvy::dotenv();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();

    let cli = Cli::parse();
    match cli::run_without_settings(&cli).await {
        Ok(true) => return,
        Ok(false) => {}
        Err(e) => exit_with(&e),
    }
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("pwreset: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = cli::run(cli, settings).await {
        exit_with(&e);
    }
}

fn exit_with(e: &anyhow::Error) -> ! {
    eprintln!("pwreset: {e:#}");
    std::process::exit(1);
}

//! Command-line interface.

use clap::{Parser, Subcommand};
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Elections on a proof-of-work chain, mined by volunteers and approved by validators.
#[derive(Parser)]
#[command(name = "ballotchain", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (the default).
    Serve(ServeArgs),
    /// Mine blocks for an election on a server, using every core.
    Mine(MineArgs),
    /// Re-verify an exported chain (a file or an export URL) and print its tally.
    Verify {
        /// Path to an export file, or the URL of `/api/elections/{id}/export`.
        source: String,
        /// The genesis block's hash, as published when the election opened: the chain
        /// must start there.
        #[arg(long, value_name = "HASH")]
        genesis: Option<ledger::BlockHash>,
        /// A head seen before, `HEIGHT:HASH` (repeatable): the chain must still hold
        /// that block at that height.
        #[arg(long, value_name = "HEIGHT:HASH", value_parser = wire::pinned_head)]
        expect: Vec<(u64, ledger::BlockHash)>,
    },
    /// Check a ballot audit (cast-or-audit) away from the page that made it: re-encrypts
    /// the revealed choice with the revealed seed under the election key the server's
    /// genesis block seals (checked to be the trustees' own) and compares the bytes.
    /// Exit code 0 when they match, 1 otherwise.
    Audit {
        /// The audit file the ballot page offered (JSON).
        file: PathBuf,
        /// The server, for the genesis block (`https://…`).
        #[arg(long)]
        server: String,
        /// The genesis block's hash, as published when the election opened.
        #[arg(long, value_name = "HASH")]
        genesis: Option<ledger::BlockHash>,
    },
    /// Run a validator on this machine: keeps its own copy of the chain (verified from
    /// its genesis block once, then block by block), checks each awaiting block and signs
    /// an approval or a rejection naming the broken rule. Exit codes: 0 done, 1 could not
    /// run, 2 the server's chain no longer holds this validator's copy (or does not
    /// verify); lines needing a person start with "ATTENTION:".
    Validate(ValidateArgs),
    /// Check every stored chain in a database in full (every rule, signature and
    /// approval, and the rows around the chain), as the server does when it starts.
    Check {
        /// The database: a SQLite file, or a PostgreSQL URL (`postgres://…`).
        #[arg(long, env = "DATABASE_URL")]
        db: PathBuf,
        /// Re-check every ballot's proofs too, as `verify` does (slower), instead of
        /// relying on the check recorded when each vote came in.
        #[arg(long)]
        full: bool,
    },
    /// Manage accounts directly in the database.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Accept a validator's invitation with a key file: proves possession of the key and
    /// enrols its public half (the key file never leaves this machine).
    Accept(AcceptArgs),
    /// Approve a block as a validator: re-verifies the chain and the block here, then
    /// signs with the key file's key.
    Approve(DecideArgs),
    /// Reject a block as a validator, with a reason signed with the key file's key.
    Reject {
        #[command(flatten)]
        decision: DecideArgs,
        /// Why (1 to 500 characters), signed as given.
        #[arg(long)]
        reason: String,
    },
    /// Make voting codes for a roll on this machine: writes the codes sheet for the voters
    /// and the keys file (public keys only) for the server, and prints the roll's hash.
    Codes(CodesArgs),
    /// Vote with a voting code kept in a file: the key is derived and the vote signed on
    /// this machine; only the signed vote is sent.
    Vote(VoteArgs),
    /// A trustee's side of the secret ballot: enrolment and the key ceremony, with the
    /// key file on this machine.
    Trustee {
        #[command(subcommand)]
        command: TrusteeCommand,
    },
    /// A validator's or trustee's signing key, in a passphrase-encrypted key file kept by
    /// its holder.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Make a new key and write its key file.
    New {
        /// Where to write the key file (never overwritten).
        #[arg(long)]
        out: PathBuf,
        /// Whose key it is, for people.
        #[arg(long, default_value = "validator")]
        label: String,
        /// Read the passphrase from this file's first line instead of a prompt.
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
    /// Open a key file and print its label and public key.
    Show {
        /// The key file.
        #[arg(long)]
        key: PathBuf,
        /// Read the passphrase from this file's first line instead of a prompt.
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
pub struct ServeArgs {
    /// The database: a SQLite file (created if missing), or a PostgreSQL URL
    /// (`postgres://user:password@host/database`).
    #[arg(long, env = "DATABASE_URL", default_value = "ballotchain.db")]
    pub db: PathBuf,
    /// Where chain exports are kept (a cache, rebuilt when missing). Default: beside a
    /// SQLite file (`FILE.exports`); with PostgreSQL, `ballotchain-exports` here.
    #[arg(long, value_name = "DIR")]
    pub exports: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// On an empty database, create a demo election to try the whole flow.
    #[arg(long)]
    pub demo: bool,
    /// Where the demo writes its voters' codes.
    #[arg(long, default_value = "demo-voter-codes.csv")]
    pub demo_codes: PathBuf,
    /// The address people reach this server at, e.g. `https://vote.example.org`: the
    /// only origin whose pages may change anything here, the base of links shown, and
    /// with https, Secure cookies and HSTS. Default: the listen address.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// A reverse proxy (address or CIDR, repeatable) whose `X-Forwarded-For` names the
    /// client. Without it, that header is ignored and the client is the peer.
    #[arg(long, value_name = "CIDR", value_parser = proxy_net)]
    pub trusted_proxy: Vec<ipnet::IpNet>,
    /// Seconds a client has to send a request's headers (also how long an idle
    /// kept-alive connection stays open).
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout: u64,
    /// Seconds a request has from its headers to its answer (a slow upload included);
    /// then 503. A connection where nothing moves for twice as long is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout: u64,
    /// Requests answered at once; more get 503 with Retry-After.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_requests: u64,
    /// Seconds between the cheap checks of the stored chains against the verified ones
    /// in memory (a chain found altered takes no more writes).
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub check_interval: u64,
    /// Votes of older blocks whose rows each periodic check re-reads and re-hashes, in
    /// turn (blocks appended since the last check always are; headers, links, approvals
    /// and counts are checked every time): on a chain of V votes every row is re-read
    /// within V / N checks.
    #[arg(long, value_name = "N", default_value_t = engine::ROWS_PER_CHECK, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub check_rows: u64,
    /// Open connections; more wait until one closes.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_connections: u64,
}

impl ServeArgs {
    /// The connection and request limits these options set.
    pub fn limits(&self) -> crate::listen::Limits {
        let request = std::time::Duration::from_secs(self.request_timeout);
        crate::listen::Limits {
            header_read: std::time::Duration::from_secs(self.header_timeout),
            request,
            io_idle: request * 2,
            in_flight: self.max_requests as usize,
            connections: self.max_connections as usize,
        }
    }
}

/// `10.0.0.0/8`, or one address (`10.0.0.1`, a /32 or /128).
fn proxy_net(text: &str) -> Result<ipnet::IpNet, String> {
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{text:?} is not an address or a CIDR block such as 10.0.0.0/8"))
}

/// The server a command talks to.
#[derive(clap::Args)]
pub struct ServerArg {
    /// Base URL of the server, e.g. https://vote.example.org
    #[arg(long = "server", value_name = "URL")]
    url: String,
}

impl ServerArg {
    /// The base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        self.url.trim_end_matches('/')
    }
}

/// The key file a command signs with (a trustee's keeps its side of the ceremony and the
/// count it decrypted), and where its passphrase comes from.
#[derive(clap::Args)]
pub struct KeyFileArgs {
    /// The key file (make one with `ballotchain key new`).
    #[arg(long)]
    pub key: PathBuf,
    /// Read the key file's passphrase from this file's first line instead of a prompt.
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
}

/// A one-time invitation taken up from the command line with a key file.
#[derive(clap::Args)]
pub struct InvitationArgs {
    #[command(flatten)]
    pub server: ServerArg,
    /// The invitation link (or just its token).
    #[arg(long)]
    pub invitation: String,
    #[command(flatten)]
    pub keyfile: KeyFileArgs,
}

#[derive(clap::Args)]
pub struct AcceptArgs {
    #[command(flatten)]
    pub taken: InvitationArgs,
    /// Read the account's new sign-in password from this file's first line instead of a
    /// prompt (not asked when re-enrolling a key). `--passphrase-file` is the key file's.
    #[arg(
        long = "account-password-file",
        alias = "password-file",
        value_name = "FILE"
    )]
    pub password_file: Option<PathBuf>,
}

#[derive(Subcommand)]
enum TrusteeCommand {
    /// Accept a trustee's invitation with a key file (make one with `ballotchain key
    /// new`): proves possession of its identity key and enrols it with the
    /// share-receiving key derived from it.
    Enrol(InvitationArgs),
    /// Take part in the election's key ceremony: reads the board and posts this trustee's
    /// messages of every round it can take now, keeping its side sealed in the key file.
    Ceremony(TrusteeCeremonyArgs),
    /// Decrypt this trustee's share of the count: verifies the whole chain here,
    /// recomputes the encrypted sums up to the final head, refuses when the server's sums
    /// differ, and posts the share with its proofs, signed. The count decrypted is
    /// recorded in the key file and in `$BALLOTCHAIN_STATE_DIR` (by default
    /// `~/.local/state/ballotchain`) before the share is posted; either record naming
    /// another count refuses.
    Tally(TrusteeTallyArgs),
}

#[derive(clap::Args)]
pub struct TrusteeCeremonyArgs {
    #[command(flatten)]
    pub server: ServerArg,
    /// Election id.
    #[arg(long)]
    pub election: u64,
    #[command(flatten)]
    pub keyfile: KeyFileArgs,
    /// Keep reading the board for up to this many seconds, taking each round as the
    /// others post theirs, until the ceremony is complete (0: one pass).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub wait: u64,
}

#[derive(clap::Args)]
pub struct TrusteeTallyArgs {
    #[command(flatten)]
    pub server: ServerArg,
    /// Election id.
    #[arg(long)]
    pub election: u64,
    /// The genesis block's hash as published when the election opened: the chain decrypted
    /// must be that election's, not one the server made up around a copied ballot.
    #[arg(long, value_name = "HASH")]
    pub genesis: ledger::BlockHash,
    /// The final head, `HEIGHT:HASH`, as an observer's own copy has it (a pinned head,
    /// `ballotchain validate`, a validator's dashboard), not the office's word alone: the
    /// count must end there.
    #[arg(long, value_name = "HEIGHT:HASH", value_parser = wire::pinned_head)]
    pub expect_final: Option<(u64, ledger::BlockHash)>,
    #[command(flatten)]
    pub keyfile: KeyFileArgs,
}

#[derive(clap::Args)]
pub struct CodesArgs {
    /// The roll: CSV with a header row naming `name` and optionally `external_id`.
    #[arg(long)]
    pub roll: PathBuf,
    /// The election the codes are for (a code's key depends on it).
    #[arg(long)]
    pub election: u64,
    /// Where to write the codes sheet (`name,external_id,code`); never overwritten.
    #[arg(long)]
    pub out: PathBuf,
    /// Where to write the keys file for the server (`name,external_id,public_key`).
    #[arg(long)]
    pub keys: PathBuf,
}

#[derive(clap::Args)]
pub struct VoteArgs {
    #[command(flatten)]
    pub server: ServerArg,
    /// Election id.
    #[arg(long)]
    pub election: u64,
    /// A file whose first line is the voting code.
    #[arg(long)]
    pub code_file: PathBuf,
    /// The candidate's id (as the ballot and `GET /api/elections/{id}` list them).
    #[arg(long)]
    pub candidate: u32,
    /// The genesis block's hash as the trustees and the election office published it
    /// when voting opened: nothing is encrypted or sent unless the server's genesis block
    /// is that one (the trustees check it seals the keys they made).
    #[arg(long, value_name = "HASH")]
    pub genesis: Option<ledger::BlockHash>,
}

#[derive(clap::Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub server: ServerArg,
    /// The validator's key file.
    #[arg(long)]
    pub key: PathBuf,
    /// Election id.
    #[arg(long)]
    pub election: u64,
    /// Keep going: a pass every --interval seconds until stopped.
    #[arg(long)]
    pub watch: bool,
    /// Seconds between passes with --watch.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub interval: u64,
    /// The genesis block's hash as published when the election opened: the first copy
    /// must start there (without it, the served genesis block is taken on first use).
    #[arg(long, value_name = "HASH")]
    pub genesis: Option<ledger::BlockHash>,
    /// This validator's own copy of the chain and its decisions (SQLite; default
    /// ballotchain-validator-ID.db here).
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Read the key file's passphrase from this file's first line. Without it, from the
    /// environment variable BALLOTCHAIN_PASSPHRASE (weaker: the environment of a process
    /// can be read by others of the same user), else typed at a prompt.
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct DecideArgs {
    #[command(flatten)]
    pub server: ServerArg,
    /// Election id.
    #[arg(long)]
    pub election: u64,
    /// The block's hash (64 hex digits).
    #[arg(long)]
    pub block: String,
    #[command(flatten)]
    pub keyfile: KeyFileArgs,
}

#[derive(clap::Args)]
pub struct MineArgs {
    #[command(flatten)]
    pub server: ServerArg,
    /// Election id.
    #[arg(long)]
    pub election: u64,
    /// Mine one block, submit it and exit.
    #[arg(long)]
    pub once: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// A label (up to 16 bytes) shown with your blocks in the explorer.
    #[arg(long, default_value = "")]
    pub tag: String,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin account; the password is read from standard input.
    Create {
        /// The database: a SQLite file, or a PostgreSQL URL (`postgres://…`).
        #[arg(long, env = "DATABASE_URL", default_value = "ballotchain.db")]
        db: PathBuf,
        /// Login name.
        #[arg(long)]
        username: String,
    },
}

/// Runs the chosen command.
pub fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let command = match cli.command {
        Some(c) => c,
        // No subcommand: `serve` with its defaults.
        None => Cli::parse_from(["ballotchain", "serve"])
            .command
            .ok_or("no command")?,
    };
    match command {
        Command::Serve(args) => runtime()?.block_on(crate::serve::serve(args)),
        Command::Mine(args) => crate::miner::run(args),
        Command::Verify {
            source,
            genesis,
            expect,
        } => crate::verify::run(&source, genesis, &expect),
        Command::Audit {
            file,
            server,
            genesis,
        } => crate::verify::audit(&file, &server, genesis),
        Command::Check { db, full } => runtime()?.block_on(crate::verify::check(&db, full)),
        Command::Validate(args) => runtime()?.block_on(crate::headless::run(args)),
        Command::Accept(args) => crate::decide::accept(args),
        Command::Vote(args) => crate::vote::vote(args),
        Command::Codes(args) => crate::codes::run(args),
        Command::Trustee {
            command: TrusteeCommand::Enrol(args),
        } => crate::trustee::enrol(args),
        Command::Trustee {
            command: TrusteeCommand::Ceremony(args),
        } => crate::trustee::ceremony(args),
        Command::Trustee {
            command: TrusteeCommand::Tally(args),
        } => crate::trustee::tally(args),
        Command::Approve(args) => crate::decide::decide(args, None),
        Command::Reject { decision, reason } => crate::decide::decide(decision, Some(&reason)),
        Command::Key {
            command:
                KeyCommand::New {
                    out,
                    label,
                    passphrase_file,
                },
        } => crate::key::new(&out, &label, passphrase_file.as_deref()),
        Command::Key {
            command:
                KeyCommand::Show {
                    key,
                    passphrase_file,
                },
        } => crate::key::show(&key, passphrase_file.as_deref()),
        Command::Admin {
            command: AdminCommand::Create { db, username },
        } => {
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            runtime()?.block_on(async {
                let (node, _) = engine::Node::open(&db).await?;
                let account = node.create_admin(&username, password).await?;
                println!("admin account {:?} created", account.username);
                Ok(())
            })
        }
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

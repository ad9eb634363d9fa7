//! Runs a scenario with metrics collection off or on, for measuring what collection costs
//! with whole-process tools (`perf stat`, `time`): `collection SCENARIO off|on|files [DIR]`.
//! The criterion bench `scenarios/collection` measures the same three variants.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: collection SCENARIO off|on|files [DIR]");
        std::process::exit(2);
    }
    let loaded = mesosim::scenario::load(std::path::Path::new(&args[1]), &[]).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let s = &loaded.scenario;
    let events = match args[2].as_str() {
        "off" => {
            let (events, _, world) = mesosim::run::run_unobserved(s).expect("the run finishes");
            std::mem::forget(world);
            events
        }
        "on" => {
            mesosim::run::run(s, None, |_| {})
                .expect("the run finishes")
                .leak()
                .events
        }
        _ => {
            let dir = std::path::PathBuf::from(args.get(3).map_or("target/collection", String::as_str));
            let outcome = mesosim::run::run(s, Some(&dir), |_| {}).expect("the run finishes");
            mesosim::report::files::write_tables(&dir, outcome.collector()).expect("written");
            mesosim::report::page::write(&dir, &outcome.summary, outcome.collector(), &loaded.source_text)
                .expect("written");
            outcome.leak().events
        }
    };
    println!("{events} events");
}

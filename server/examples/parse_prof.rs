#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let path = std::env::args().nth(1).expect("path");
    let bytes = bytes::Bytes::from(std::fs::read(path).expect("read"));
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let (_, _, parsed) =
            server::ingest::parse_body(Some(server::ingest::Format::Trivy), bytes.clone())
                .expect("parse");
        let n = parsed.findings.len();
        let t1 = t.elapsed();
        drop(parsed);
        eprintln!("parse {:?} drop {:?} findings {n}", t1, t.elapsed() - t1);
    }
}

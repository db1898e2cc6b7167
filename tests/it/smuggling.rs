//! Request-smuggling defences (RFC 9112 §6.3 and §11.2): each
//! ambiguous or malformed message is refused with `400` (`501` for an
//! unknown transfer coding), the connection is closed, and a request
//! smuggled behind it in the same bytes is never answered.

use crate::support::{Echo, TestServer};

/// The request a successful smuggle would get answered.
const SMUGGLED: &str = "GET /echo?smuggled=1 HTTP/1.1\r\nHost: t\r\n\r\n";

/// Sends each of `raws` followed by a smuggled request in one write, each
/// on a new connection; expects one refusal with `status`, then a clean close.
fn refused(raws: &[&str], status: u16) {
    let server = TestServer::start(|a| a.register("/echo", Echo));
    for raw in raws {
        let mut c = server.connect();
        c.send(format!("{raw}{SMUGGLED}"));
        let r = c.read_response();
        assert_eq!(r.status, status, "{raw:?}: {r:?}");
        r.assert_problem(status);
        assert!(r.closes(), "{raw:?}: {r:?}");
        c.assert_closed();
    }
    // The server itself is unharmed.
    let mut fresh = server.connect();
    assert_eq!(fresh.get_with("/healthz", "").status, 200);
    drop(fresh);
    server.stop();
}

#[test]
fn control_a_well_formed_request_is_answered_with_the_next() {
    let server = TestServer::start(|a| a.register("/echo", Echo));
    let mut c = server.connect();
    c.send(format!(
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc{SMUGGLED}"
    ));
    assert_eq!(c.read_response().json()["body"], "abc");
    assert_eq!(c.read_response().json()["query"][0][0], "smuggled");
    server.stop();
}

#[test]
fn rejects_content_length_with_transfer_encoding() {
    refused(
        &[
            "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        ],
        400,
    );
}

#[test]
fn rejects_differing_content_lengths() {
    refused(
        &[
            "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3, 4\r\n\r\nabcd",
        ],
        400,
    );
}

#[test]
fn rejects_malformed_content_length() {
    let raws: Vec<String> = [
        "+3",
        "-3",
        "0x3",
        "3 3",
        "",
        "3a",
        "99999999999999999999999",
    ]
    .iter()
    .map(|cl| format!("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {cl}\r\n\r\nabc"))
    .collect();
    refused(&raws.iter().map(String::as_str).collect::<Vec<_>>(), 400);
}

#[test]
fn rejects_transfer_encoding_not_ending_in_chunked() {
    refused(
        &[
            "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
            "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n",
        ],
        400,
    );
}

#[test]
fn rejects_chunked_twice() {
    refused(
        &[
            "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
            "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ],
        400,
    );
}

#[test]
fn unknown_transfer_coding_is_501() {
    refused(
        &[
            "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\n",
            "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        ],
        501,
    );
}

#[test]
fn rejects_transfer_encoding_on_http10() {
    refused(
        &["POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"],
        400,
    );
}

#[test]
fn rejects_malformed_chunk_sizes() {
    let bodies = [
        "zz\r\nabc\r\n0\r\n\r\n",
        "-1\r\nabc\r\n0\r\n\r\n",
        "0x3\r\nabc\r\n0\r\n\r\n",
        " 3\r\nabc\r\n0\r\n\r\n",
        "\r\nabc\r\n0\r\n\r\n",
        "3\nabc\r\n0\r\n\r\n",
        "3\rabc\r\n0\r\n\r\n",
        "3\r\nabcd\r\n0\r\n\r\n",
        "3\r\nabc0\r\n\r\n",
        "ffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
        "3;\0\r\nabc\r\n0\r\n\r\n",
    ];
    let raws: Vec<String> = bodies
        .iter()
        .map(|body| {
            format!("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n{body}")
        })
        .collect();
    refused(&raws.iter().map(String::as_str).collect::<Vec<_>>(), 400);
}

#[test]
fn rejects_obsolete_line_folding() {
    refused(
        &[
            "GET /echo HTTP/1.1\r\nHost: t\r\nX-A: a\r\n b\r\n\r\n",
            "GET /echo HTTP/1.1\r\nHost: t\r\nX-A: a\r\n\tb\r\n\r\n",
        ],
        400,
    );
}

#[test]
fn rejects_bare_cr_in_a_header() {
    refused(
        &[
            "GET /echo HTTP/1.1\r\nHost: t\r\nX-A: a\rb\r\n\r\n",
            "GET /echo HTTP/1.1\r\nHost: t\r\nX-A: a\r\r\n\r\n",
        ],
        400,
    );
}

#[test]
fn rejects_bare_lf_among_crlf_line_ends() {
    refused(
        &[
            "GET /echo HTTP/1.1\r\nHost: t\nX-A: a\r\n\r\n",
            "GET /echo HTTP/1.1\r\nHost: t\r\nX-A: a\nX-B: b\r\n\r\n",
            "POST /echo HTTP/1.1\r\nHost: t\r\nX-A: a\nContent-Length: 3\r\n\r\nabc",
            "GET /echo HTTP/1.1\nHost: t\r\n\r\n",
        ],
        400,
    );
}

#[test]
fn heads_with_bare_lf_throughout_are_still_read() {
    let server = TestServer::start(|a| a.register("/echo", Echo));
    let mut c = server.connect();
    c.send("GET /echo?lf=1 HTTP/1.1\nHost: t\nX-A: a\n\n");
    let r = c.read_response();
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["query"][0][0], "lf");
    server.stop();
}

#[test]
fn rejects_nul_in_a_header() {
    refused(
        &[
            "GET /echo HTTP/1.1\r\nHost: t\r\nX-A: a\0b\r\n\r\n",
            "GET /echo HTTP/1.1\r\nHost: t\r\nX-\0A: ab\r\n\r\n",
        ],
        400,
    );
}

#[test]
fn rejects_whitespace_before_the_colon() {
    refused(
        &[
            "GET /echo HTTP/1.1\r\nHost: t\r\nContent-Length : 3\r\n\r\nabc",
            "GET /echo HTTP/1.1\r\nHost: t\r\nX-A\t: a\r\n\r\n",
        ],
        400,
    );
}

#[test]
fn rejects_spaces_in_header_names() {
    refused(
        &[
            "GET /echo HTTP/1.1\r\nHost: t\r\nX A: a\r\n\r\n",
            "GET /echo HTTP/1.1\r\nHost: t\r\n Transfer-Encoding: chunked\r\n\r\n",
        ],
        400,
    );
}

#[test]
fn rejects_missing_host_on_http11() {
    refused(&["GET /echo HTTP/1.1\r\nX-A: a\r\n\r\n"], 400);
}

#[test]
fn rejects_repeated_host() {
    refused(
        &[
            "GET /echo HTTP/1.1\r\nHost: t\r\nHost: u\r\n\r\n",
            "GET /echo HTTP/1.1\r\nHost: t\r\nhost: t\r\n\r\n",
        ],
        400,
    );
}

/// RFC 9112 §3.2: a `Host` value that is not `host[:port]` is refused,
/// including two values joined into one field.
#[test]
fn rejects_invalid_host_values() {
    refused(
        &[
            "GET /echo HTTP/1.1\r\nHost: t, u\r\n\r\n",
            "GET /echo HTTP/1.1\r\nHost: t u\r\n\r\n",
            "GET /echo HTTP/1.1\r\nHost: user@t\r\n\r\n",
            "GET /echo HTTP/1.1\r\nHost: t/x\r\n\r\n",
            "GET /echo HTTP/1.1\r\nHost: t:80x\r\n\r\n",
            "GET /echo HTTP/1.0\r\nHost: [::1\r\n\r\n",
        ],
        400,
    );
}

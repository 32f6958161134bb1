//! The storage-test fixtures (tests/common/servers.rs) start real servers that work:
//! objects/files go in and come back, and what each fixture observes is what happened.

use crate::common;

use common::servers::{S3Server, SftpEvent, SftpServer, WebdavServer, run_client};

#[test]
fn s3_put_get_list_kill_restart() {
    let mut s3 = S3Server::start();
    s3.put_object("a/b/hello.txt", b"hello s3");
    assert_eq!(s3.object("a/b/hello.txt").as_deref(), Some(&b"hello s3"[..]), "object is a file in the bucket dir");
    assert_eq!(s3.keys(), vec!["a/b/hello.txt".to_string()]);
    let (code, body) = s3.get_object("a/b/hello.txt");
    assert_eq!((code, body.as_slice()), (200, &b"hello s3"[..]));
    let (code, body) = s3.signed_get(&format!("/{}?list-type=2", s3.bucket()));
    let body = String::from_utf8_lossy(&body);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("<Key>a/b/hello.txt</Key>"), "{body}");

    // Wrong secret: refused.
    let out = run_client(
        "curl",
        &[
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--aws-sigv4",
            "aws:amz:us-east-1:s3",
            "--user",
            &format!("{}:wrong", s3.access_key()),
            "-H",
            "x-amz-content-sha256: UNSIGNED-PAYLOAD",
            &format!("{}/{}/a/b/hello.txt", s3.endpoint(), s3.bucket()),
        ],
        None,
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "403");

    // The request log: PUT, GET, list, refused GET, in order.
    let reqs = s3.requests();
    let summary: Vec<(String, String, u16)> =
        reqs.iter().map(|r| (r.method.clone(), r.path.clone(), r.status)).collect();
    assert_eq!(
        summary,
        vec![
            ("PUT".to_string(), "/vod/a/b/hello.txt".to_string(), 200),
            ("GET".to_string(), "/vod/a/b/hello.txt".to_string(), 200),
            ("GET".to_string(), "/vod".to_string(), 200),
            ("GET".to_string(), "/vod/a/b/hello.txt".to_string(), 403),
        ],
        "{reqs:#?}"
    );
    assert_eq!(reqs[0].content_length, Some(8));
    assert_eq!(reqs[2].query, "list-type=2");
    assert_eq!(s3.written_keys_since(0).into_iter().collect::<Vec<_>>(), vec!["a/b/hello.txt".to_string()]);
    assert_eq!(s3.written_bytes_since(0), 8);
    assert_eq!(s3.written_bytes_since(1), 0);

    // Kill: the port refuses; the data stays. Restart: same port, same data.
    let port = s3.port();
    s3.kill();
    assert!(!s3.is_running());
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "port still answers after kill");
    assert_eq!(s3.keys(), vec!["a/b/hello.txt".to_string()]);
    s3.restart();
    assert_eq!(s3.port(), port);
    assert_eq!(s3.get_object("a/b/hello.txt"), (200, b"hello s3".to_vec()));
    assert_eq!(s3.requests().len(), 5, "the log survives a restart");
}

#[test]
fn sftp_put_get_remove() {
    let sftp = SftpServer::start();
    assert!(sftp.endpoint().starts_with("ssh://127.0.0.1:"));
    let src = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(src.path(), b"hello sftp").unwrap();
    let root = sftp.root();
    let back = root.with_file_name("back.txt");
    let batch = format!(
        "mkdir {r}/d\nput {src} {r}/d/x.txt\nget {r}/d/x.txt {back}\nput {src} {r}/y.txt\nrm {r}/y.txt\n",
        r = root.display(),
        src = src.path().display(),
        back = back.display()
    );
    let (ok, text) = sftp.sftp_batch(&batch);
    assert!(ok, "sftp batch failed:\n{text}");
    assert_eq!(std::fs::read(root.join("d/x.txt")).unwrap(), b"hello sftp");
    assert_eq!(std::fs::read(&back).unwrap(), b"hello sftp");
    assert!(!root.join("y.txt").exists());

    let events = sftp.events();
    let x = format!("{}/d/x.txt", root.display());
    let y = format!("{}/y.txt", root.display());
    assert!(events.contains(&SftpEvent::Mkdir { path: format!("{}/d", root.display()) }), "{events:#?}");
    assert!(events.contains(&SftpEvent::Close { path: x.clone(), read: 0, written: 10 }), "{events:#?}");
    assert!(events.contains(&SftpEvent::Close { path: x, read: 10, written: 0 }), "{events:#?}");
    assert!(events.contains(&SftpEvent::Remove { path: y }), "{events:#?}");
    assert_eq!(sftp.bytes_written(), 20);

    // Key auth only: a key the server does not know is refused.
    let other = tempfile::tempdir().unwrap();
    let k = other.path().join("k");
    let out = run_client("ssh-keygen", &["-q", "-t", "ed25519", "-N", "", "-f", k.to_str().unwrap()], None);
    assert!(out.status.success());
    let port = sftp.port().to_string();
    let out = run_client(
        "sftp",
        &[
            "-i",
            k.to_str().unwrap(),
            "-P",
            &port,
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-b",
            "-",
            &format!("{}@127.0.0.1", sftp.user()),
        ],
        Some(b"ls\n"),
    );
    assert!(!out.status.success(), "an unknown key logged in");
}

#[test]
fn webdav_put_get_propfind_delete() {
    let dav = WebdavServer::start();
    let src = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(src.path(), b"hello dav").unwrap();
    let url = format!("{}/a/b/c.txt", dav.endpoint());
    let curl = |args: &[&str]| {
        let mut v = vec!["-sS", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code}"];
        v.extend_from_slice(args);
        let out = run_client("curl", &v, None);
        assert!(out.status.success(), "curl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(curl(&["-T", src.path().to_str().unwrap(), &url]), "201");
    assert_eq!(std::fs::read(dav.root().join("a/b/c.txt")).unwrap(), b"hello dav");
    let out = run_client("curl", &["-sS", "--max-time", "20", &url], None);
    assert_eq!(out.stdout, b"hello dav");
    assert_eq!(curl(&["-X", "PROPFIND", "-H", "Depth: 1", &format!("{}/a/", dav.endpoint())]), "207");
    assert_eq!(curl(&["-X", "DELETE", &url]), "204");
    assert!(!dav.root().join("a/b/c.txt").exists());

    let reqs = dav.requests();
    let summary: Vec<(&str, u16, Option<u64>, &str)> =
        reqs.iter().map(|r| (r.method.as_str(), r.status, r.content_length, r.uri.as_str())).collect();
    assert_eq!(
        summary,
        vec![
            ("PUT", 201, Some(9), "/a/b/c.txt"),
            ("GET", 200, None, "/a/b/c.txt"),
            ("PROPFIND", 207, None, "/a/"),
            ("DELETE", 204, None, "/a/b/c.txt"),
        ]
    );
}

#[test]
fn webdav_basic_auth_refuses_a_wrong_password() {
    let dav = WebdavServer::start_with_basic_auth("vod", "s3cret");
    let url = format!("{}/x.txt", dav.endpoint());
    let code = |user: &str| {
        let out = run_client(
            "curl",
            &[
                "-sS",
                "--max-time",
                "20",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--user",
                user,
                "-T",
                "/dev/null",
                &url,
            ],
            None,
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(code("vod:wrong"), "401");
    assert_eq!(code("vod:s3cret"), "201");
    assert_eq!(dav.env(), vec![("VODBUILD_WEBDAV_PASSWORD", "s3cret".to_string())]);
}

//! `run --junit PATH`: the run document as JUnit XML for CI test UIs. One `<testcase>` per
//! step (name: the step id; classname: `kind/source`; time: its duration), a `<failure>`
//! with the error's first line as message and the whole error as text for a failed step,
//! `<skipped>` with the reason for a skipped one; fresh and executed steps pass.

use std::io::Cursor;

use quick_xml::Writer;
use quick_xml::events::{BytesCData, BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::report::{RunDocument, Status, StepReport};

/// The longest failure message attribute (the full error is the element's text).
const MESSAGE_MAX: usize = 500;

/// The JUnit XML document of a run.
pub fn render(doc: &RunDocument) -> String {
    let mut w = Writer::new_with_indent(Cursor::new(Vec::new()), b' ', 2);
    let ev = |w: &mut Writer<Cursor<Vec<u8>>>, e: Event| w.write_event(e).expect("writing to memory");
    ev(&mut w, Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let tests = doc.steps.len().to_string();
    let failures = doc.counts.failed.to_string();
    let skipped = doc.counts.skipped.to_string();
    let time = seconds(doc.duration_ms);
    let totals = [("tests", tests.as_str()), ("failures", &failures), ("errors", "0"), ("skipped", &skipped)];
    let mut suites = BytesStart::new("testsuites");
    suites.push_attribute(("name", "vodbuild"));
    suites.extend_attributes(totals);
    suites.push_attribute(("time", time.as_str()));
    ev(&mut w, Event::Start(suites));
    let mut suite = BytesStart::new("testsuite");
    suite.push_attribute(("name", "vodbuild run"));
    suite.extend_attributes(totals);
    suite.push_attribute(("time", time.as_str()));
    ev(&mut w, Event::Start(suite));
    for s in doc.steps {
        testcase(&mut w, s);
    }
    ev(&mut w, Event::End(BytesEnd::new("testsuite")));
    ev(&mut w, Event::End(BytesEnd::new("testsuites")));
    let mut text = String::from_utf8(w.into_inner().into_inner()).expect("utf-8 in, utf-8 out");
    text.push('\n');
    text
}

fn testcase(w: &mut Writer<Cursor<Vec<u8>>>, s: &StepReport) {
    let mut case = BytesStart::new("testcase");
    let classname = format!("{}/{}", s.kind, s.source);
    let time = seconds(s.duration_ms);
    case.extend_attributes([("name", s.id.as_str()), ("classname", &classname), ("time", &time)]);
    let ev = |w: &mut Writer<Cursor<Vec<u8>>>, e: Event| w.write_event(e).expect("writing to memory");
    match s.status {
        Status::Failed => {
            ev(w, Event::Start(case));
            let error = s.error.as_deref().unwrap_or("failed");
            let mut failure = BytesStart::new("failure");
            failure.extend_attributes([("message", message(error).as_str()), ("type", "step failed")]);
            ev(w, Event::Start(failure));
            ev(w, Event::Text(BytesText::new(&xml_safe(error))));
            ev(w, Event::End(BytesEnd::new("failure")));
            ev(w, Event::End(BytesEnd::new("testcase")));
        }
        Status::Skipped => {
            ev(w, Event::Start(case));
            let mut skipped = BytesStart::new("skipped");
            skipped.push_attribute(("message", message(s.reason.as_deref().unwrap_or("skipped")).as_str()));
            ev(w, Event::Empty(skipped));
            ev(w, Event::End(BytesEnd::new("testcase")));
        }
        Status::Executed | Status::Fresh => {
            ev(w, Event::Start(case));
            let word = if s.status == Status::Fresh { "fresh" } else { "executed" };
            let why = s.reason.as_deref().map(|r| format!("{word}: {r}")).unwrap_or_else(|| word.to_string());
            ev(w, Event::Start(BytesStart::new("system-out")));
            ev(w, Event::CData(BytesCData::new(xml_safe(&why).replace("]]>", "]] >"))));
            ev(w, Event::End(BytesEnd::new("system-out")));
            ev(w, Event::End(BytesEnd::new("testcase")));
        }
    }
}

fn seconds(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

/// The first line of an error, bounded, as an attribute value.
fn message(error: &str) -> String {
    let first = error.lines().next().unwrap_or("");
    xml_safe(&first.chars().take(MESSAGE_MAX).collect::<String>())
}

/// XML 1.0 refuses most control characters even escaped (a tool's stderr may hold them).
fn xml_safe(text: &str) -> String {
    text.chars().map(|c| if c.is_control() && !matches!(c, '\n' | '\t' | '\r') { '\u{FFFD}' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::report::{Counts, RunStats};

    fn step(id: &str, status: Status, error: Option<&str>) -> StepReport {
        StepReport {
            id: id.into(),
            kind: "encode",
            source: "a&b".into(),
            status,
            reason: Some("new".into()),
            duration_ms: 1500,
            error: error.map(String::from),
            attempts: 1,
        }
    }

    #[test]
    fn failures_carry_their_first_line_and_text_is_escaped() {
        let steps = vec![
            step("encode:a&b:720p", Status::Failed, Some("ffmpeg <exit 1>\n\u{1b}[31mdetail")),
            step("encode:a&b:360p", Status::Executed, None),
        ];
        let doc = RunDocument {
            counts: Counts { executed: 1, fresh: 0, failed: 1, skipped: 0 },
            interrupted: false,
            duration_ms: 2000,
            stats: RunStats {
                source_bytes_hashed: 0,
                sources_hashed: 0,
                uploaded_bytes: 0,
                uploaded_objects: 0,
                deleted_objects: 0,
                downloaded_bytes: 0,
            },
            steps: &steps,
            ladder_skipped: vec![],
            executor: Default::default(),
        };
        let xml = render(&doc);
        assert!(
            xml.contains(r#"<testcase name="encode:a&amp;b:720p" classname="encode/a&amp;b" time="1.500">"#),
            "{xml}"
        );
        assert!(xml.contains(r#"<failure message="ffmpeg &lt;exit 1&gt;" type="step failed">"#), "{xml}");
        assert!(!xml.contains('\u{1b}'), "control characters are replaced: {xml}");
        assert!(xml.contains(r#"tests="2" failures="1""#), "{xml}");
    }
}

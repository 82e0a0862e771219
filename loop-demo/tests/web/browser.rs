//! The page in a real browser: Debian's headless `chromium`, driven through `chromedriver` (WebDriver)
//! with fantoccini. Without chromedriver on the `PATH` the test is skipped, saying so — unless
//! `L402_REQUIRE_BROWSER=1` (as in CI), where that is a failure. The screenshot is written under the
//! target directory as `loop-demo-web.png`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::support::{Page, WAIT};

/// The variable that turns a skip into a failure.
const REQUIRE_VAR: &str = "L402_REQUIRE_BROWSER";

/// A program's path on the `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// chromedriver on a free port; killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts chromedriver, or returns `None` (after printing why) where none is installed and the browser
/// is not required.
async fn driver() -> Option<Driver> {
    let Some(chromedriver) = on_path("chromedriver") else {
        assert!(
            std::env::var(REQUIRE_VAR).as_deref() != Ok("1"),
            "a browser is required ({REQUIRE_VAR}=1) but chromedriver is not on the PATH \
             (Debian: apt-get install chromium chromium-driver)"
        );
        eprintln!("SKIPPED: browser test: chromedriver is not on the PATH (apt-get install chromium chromium-driver)");
        return None;
    };
    let addr = testkit::process::free_addr();
    let child = Command::new(chromedriver)
        .arg(format!("--port={}", addr.port()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver {
        child,
        url: format!("http://{addr}"),
    };
    testkit::wait::port_open(addr, WAIT)
        .await
        .expect("chromedriver listens");
    Some(driver)
}

/// A headless Chromium session, at a laptop's window size.
async fn browser(driver: &Driver) -> Client {
    let mut options = json!({
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1440,1000"]
    });
    if let Some(chromium) = on_path("chromium") {
        options["binary"] = json!(chromium);
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), options);
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session")
}

/// Where the screenshot goes: the target directory of this test binary (`<target>/debug/deps/…`).
fn screenshot_path() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let target = exe
        .ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .expect("the test binary is in <target>/<profile>/deps");
    target.join("loop-demo-web.png")
}

/// Waits for an element matching `css`.
async fn wait_for(browser: &Client, css: &str) {
    browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} in time: {e}"));
}

/// How many rows of `kind` the page shows in section `section`.
async fn rows(browser: &Client, section: u32, kind: &str) -> usize {
    browser
        .find_all(Locator::Css(&format!(
            "li.row[data-section='{section}'][data-kind='{kind}']"
        )))
        .await
        .unwrap()
        .len()
}

/// Presses a button (by keyboard focus and click, as a visitor does).
async fn press(browser: &Client, id: &str) {
    wait_for(browser, "body[data-busy='false']").await;
    browser
        .find(Locator::Id(id))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

#[tokio::test]
async fn the_page_plays_a_first_and_a_repeat_loop_in_chromium() {
    let Some(driver) = driver().await else {
        return;
    };
    let page = Page::start().await;
    let browser = browser(&driver).await;
    browser.goto(&page.url).await.unwrap();
    wait_for(&browser, "#connection[data-state='live']").await;

    press(&browser, "first-loop").await;
    wait_for(&browser, "li.row[data-section='1'][data-kind='result']").await;
    let result = browser
        .find(Locator::Css("li.row[data-section='1'][data-kind='result']"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(result.contains("SUCCESS"), "{result}");
    assert!(rows(&browser, 1, "challenge").await >= 1, "the 402");
    assert!(rows(&browser, 1, "token_payment").await >= 1, "the payment");

    press(&browser, "repeat-loop").await;
    wait_for(&browser, "li.row[data-section='2'][data-kind='result']").await;
    assert_eq!(rows(&browser, 2, "challenge").await, 0, "no 402");
    assert_eq!(rows(&browser, 2, "token_payment").await, 0, "no payment");
    assert!(rows(&browser, 2, "forward").await >= 1);

    // Opening the first loop's 402 shows the decoded challenge, its secrets marked.
    browser
        .find(Locator::Css(
            "li.row[data-section='1'][data-kind='token'] button",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let detail = browser
        .find(Locator::Id("detail"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(detail.contains("WWW-Authenticate"), "{detail}");
    assert!(detail.contains("invoice amount"), "{detail}");

    let png = browser.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let path = screenshot_path();
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
    browser.close().await.unwrap();
}

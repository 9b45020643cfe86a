//! The two texts Kafka-ML writes for a Tasmota device: the `Backlog` command that configures it
//! (shown to the user in the device list) and the one-line Berry program that makes it download
//! its new model and script (sent as the `Br` command of a deployment).

use crate::device::Device;
use crate::error::IotError;

/// The `Backlog` command that points a Tasmota device at its broker with Kafka-ML's topic layout
/// (docs/contract.md §4.8), character for character: note the space before the `;` after `FullTopic` and
/// the trailing space. `password` is what the text shows as the MQTT password; the API passes
/// [`kafkaml_domain::iot::PASSWORD_PLACEHOLDER`] because the stored password is write-only.
pub fn backlog(device: &Device, password: &str) -> String {
    let token = &device.token;
    format!(
        "Backlog DeviceName {token}; FriendlyName {}; MqttHost {}; MqttPort {}; MqttUser {}; MqttPassword {password}; \
         Topic {token}; FullTopic kafkaml/iot/%topic%/%prefix%/ ; MqttClient {token}; Hostname {token}; SetOption53 1 ",
        device.friendly_name, device.broker.host, device.broker.port, device.broker.username,
    )
}

/// The download program, as the reference writes it before flattening; `{url}` and `{token}` are
/// filled in. `urlfetch` downloads a URL into a file of the device's file system.
const DOWNLOAD_PROGRAM: &str = r##"
    def urlfetch(url,file);
        if file==nil;
            import string;
            file=string.split(url,'/').pop();
        end; var wc=webclient();
        wc.begin(url);
        var st=wc.GET();
        if st!=200
            st = 'connection_error';
            print('status: '+str(st));
            # raise 'connection_error','status: '+str(st)
        end;
        st='Fetched '+str(wc.write_file(file));
        print(url,st); wc.close();
        return st;
    end;
    tasmota.cmd('UfsDelete autoexec.be');
    tasmota.cmd('UfsDelete model.tflite');
    urlfetch('{url}/api/iot-devices/{token}/autoexec.be');
    urlfetch('{url}/api/iot-devices/{token}/model.tflite');
    tasmota.cmd('Restart 1');
    "##;

/// Whether `base` can be pasted into a Berry string literal as the base of the download URLs:
/// `http://` or `https://` followed by a host and optional port and path, without quotes,
/// backslashes, spaces or control characters.
fn usable_base(base: &str) -> bool {
    let rest = base.strip_prefix("http://").or_else(|| base.strip_prefix("https://"));
    match rest {
        Some(rest) => {
            !rest.is_empty()
                && !rest.starts_with('/')
                && rest.chars().all(|c| c.is_ascii_graphic() && !matches!(c, '\'' | '"' | '\\' | '`'))
        }
        None => false,
    }
}

/// The base URL of the download links: `origin` (the request's `Origin` header, i.e. the web UI
/// the user works in) when usable, else `fallback` (`FRONTEND_URL`); a trailing `/` is removed.
pub fn download_base(origin: Option<&str>, fallback: &str) -> Result<String, IotError> {
    if let Some(origin) = origin.map(|o| o.trim().trim_end_matches('/')).filter(|o| usable_base(o)) {
        return Ok(origin.to_owned());
    }
    let fallback = fallback.trim().trim_end_matches('/');
    if usable_base(fallback) {
        Ok(fallback.to_owned())
    } else {
        Err(IotError::InvalidBaseUrl(fallback.to_owned()))
    }
}

/// The one-line Berry program of a deployment (docs/contract.md §5.5): it deletes the device's
/// `autoexec.be` and `model.tflite`, downloads the new ones from
/// `<base>/api/iot-devices/<token>/…` and restarts the device. Lines are trimmed, blank and
/// comment lines dropped, the rest joined with spaces, as the reference does.
///
/// `base` must come from [`download_base`] (it is pasted into a string literal of the program).
pub fn download_program(base: &str, device: &Device) -> String {
    let program = DOWNLOAD_PROGRAM.replace("{url}", base).replace("{token}", &device.token);
    program.trim().lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{Broker, Password};

    fn device() -> Device {
        Device {
            token: "5B8E6696".into(),
            friendly_name: "dev1".into(),
            broker: Broker {
                host: "online-broker".into(),
                port: 1883,
                username: "u".into(),
                password: Password::new("secret"),
            },
        }
    }

    #[test]
    fn backlog_is_the_reference_text() {
        assert_eq!(
            backlog(&device(), "secret"),
            "Backlog DeviceName 5B8E6696; FriendlyName dev1; MqttHost online-broker; MqttPort 1883; MqttUser u; \
             MqttPassword secret; Topic 5B8E6696; FullTopic kafkaml/iot/%topic%/%prefix%/ ; MqttClient 5B8E6696; \
             Hostname 5B8E6696; SetOption53 1 "
        );
        assert!(backlog(&device(), "<password>").contains("; MqttPassword <password>; "));
    }

    #[test]
    fn download_program_is_the_reference_text() {
        // Produced by the reference's `generate_download_berry_script("http://localhost", device)`.
        let expected = "def urlfetch(url,file); if file==nil; import string; file=string.split(url,'/').pop(); end; \
            var wc=webclient(); wc.begin(url); var st=wc.GET(); if st!=200 st = 'connection_error'; \
            print('status: '+str(st)); end; st='Fetched '+str(wc.write_file(file)); print(url,st); wc.close(); \
            return st; end; tasmota.cmd('UfsDelete autoexec.be'); tasmota.cmd('UfsDelete model.tflite'); \
            urlfetch('http://localhost/api/iot-devices/5B8E6696/autoexec.be'); \
            urlfetch('http://localhost/api/iot-devices/5B8E6696/model.tflite'); tasmota.cmd('Restart 1');";
        assert_eq!(download_program("http://localhost", &device()), expected);
    }

    #[test]
    fn base_url_comes_from_a_usable_origin_else_the_fallback() {
        assert_eq!(download_base(Some("http://ui:4200"), "http://localhost").unwrap(), "http://ui:4200");
        assert_eq!(download_base(None, "http://localhost/").unwrap(), "http://localhost");
        assert_eq!(download_base(Some("null"), "https://kml.example/app/").unwrap(), "https://kml.example/app");
        assert_eq!(download_base(Some("http://x');tasmota.cmd('Reset 1"), "http://ok").unwrap(), "http://ok");
        assert_eq!(download_base(Some("http://"), "http://ok").unwrap(), "http://ok");
        let e = download_base(None, "localhost").unwrap_err();
        assert!(e.to_string().contains("localhost"), "{e}");
    }
}

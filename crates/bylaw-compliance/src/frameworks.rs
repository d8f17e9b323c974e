//! Compliance frameworks: a rule's `controls` ids (`SOC2-CC6.1`,
//! `PCI-DSS-6.3.2`, `HIPAA-164.312(b)`, `NIST-800-53-AC-6`,
//! `NIST-800-190-4.4.3`, `CIS-K8S-5.2.1`) parsed into a framework and a
//! control ([`parse`]), the frameworks' display names ([`name`]), a
//! catalogue of control titles ([`title`]) and the natural order of
//! control ids ([`natural_cmp`]).
//!
//! The titles are the controls' own names, shortened where the source has
//! only a sentence; sources:
//! - SOC 2: AICPA, *2017 Trust Services Criteria for Security,
//!   Availability, Processing Integrity, Confidentiality, and Privacy*
//!   (revised points of focus, 2022) — the criteria have no titles, so the
//!   title is the criterion's first clause;
//! - PCI DSS: PCI SSC, *Payment Card Industry Data Security Standard
//!   v4.0* (March 2022), the requirements' text, shortened;
//! - HIPAA: the Security Rule, 45 CFR Part 164 Subpart C (§ 164.308
//!   administrative, § 164.310 physical, § 164.312 technical safeguards),
//!   the standards' and implementation specifications' names;
//! - NIST SP 800-53 Rev. 5 (September 2020, updated December 2020), the
//!   controls' names;
//! - NIST SP 800-190 *Application Container Security Guide* (September
//!   2017), the section titles of § 4 (major risks);
//! - CIS: CIS Kubernetes Benchmark v1.8.0 (§ 5 policies), CIS Docker
//!   Benchmark v1.6.0 (§ 4 container images and build file), CIS Amazon Web
//!   Services Foundations Benchmark v3.0.0, the recommendations' titles
//!   (the AWS packs also cite `CIS-AWS-3.4`, numbered differently across
//!   versions: no title). Controls of the other CIS benchmarks the packs
//!   map (Azure, GCP, GKE)
//!   are numbered differently from one version to the next and keep
//!   `title: None` rather than a guess.

use std::cmp::Ordering;

/// The frameworks with a catalogue, in report order: (id, display name, prefix on rules).
pub const KNOWN: &[(&str, &str, &str)] = &[
    ("soc2", "SOC 2", "SOC2-"),
    ("pci-dss", "PCI DSS v4.0", "PCI-DSS-"),
    ("hipaa", "HIPAA Security Rule", "HIPAA-"),
    ("nist-800-53", "NIST SP 800-53 Rev. 5", "NIST-800-53-"),
    ("cis", "CIS Benchmarks", "CIS-"),
    ("nist-800-190", "NIST SP 800-190", "NIST-800-190-"),
];

/// A control id as written on a rule, split: `SOC2-CC6.1` → (`soc2`,
/// `CC6.1`); `CIS-K8S-5.2.1` → (`cis`, `K8S-5.2.1`). An id of no known
/// framework splits at its first `-`, the prefix lowercased
/// (`SLSA-BUILD-L3` → (`slsa`, `BUILD-L3`)); an id without `-` is a
/// control of framework `other`.
pub fn parse(mapped_id: &str) -> (String, String) {
    let id = mapped_id.trim();
    for (fw, _, prefix) in KNOWN {
        if let Some(rest) = strip_prefix_ci(id, prefix) {
            if !rest.is_empty() {
                return ((*fw).to_owned(), rest.to_owned());
            }
        }
    }
    match id.split_once('-') {
        Some((fw, rest)) if !fw.is_empty() && !rest.is_empty() => (fw.to_ascii_lowercase(), rest.to_owned()),
        _ => ("other".to_owned(), id.to_owned()),
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

/// The display name of framework `id` (the id itself, uppercased, for an unknown one).
pub fn name(id: &str) -> String {
    KNOWN.iter().find(|(fw, _, _)| *fw == id).map(|(_, n, _)| (*n).to_owned()).unwrap_or_else(|| id.to_uppercase())
}

/// The report order of frameworks: the known ones as in [`KNOWN`] (except
/// `nist-800-190`, which sorts with the others), then the rest by id.
pub fn order(a: &str, b: &str) -> Ordering {
    let rank = |id: &str| KNOWN.iter().take(5).position(|(fw, _, _)| *fw == id).unwrap_or(usize::MAX);
    rank(a).cmp(&rank(b)).then_with(|| a.cmp(b))
}

/// The title of `control` of `framework` (as [`parse`] splits them), `None`
/// when the catalogue does not know it.
pub fn title(framework: &str, control: &str) -> Option<&'static str> {
    let table: &[(&str, &str)] = match framework {
        "soc2" => SOC2,
        "pci-dss" => PCI_DSS,
        "hipaa" => HIPAA,
        "nist-800-53" => NIST_800_53,
        "nist-800-190" => NIST_800_190,
        "cis" => CIS,
        _ => return None,
    };
    table.iter().find(|(id, _)| id.eq_ignore_ascii_case(control)).map(|(_, t)| *t)
}

/// Natural order of control ids: runs of digits compare as numbers, the
/// rest as text (`CC6.1` < `CC6.2` < `CC6.10`, `AC-2` < `AC-14`,
/// `164.312(a)(1)` < `164.312(b)`).
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let nx = x.iter().take_while(|c| c.is_ascii_digit()).count();
                let ny = y.iter().take_while(|c| c.is_ascii_digit()).count();
                let (dx, dy) = (&x[..nx], &y[..ny]);
                // compare as numbers without overflow: strip leading zeros, then length, then digits
                let tx = trim_zeros(dx);
                let ty = trim_zeros(dy);
                let o = tx.len().cmp(&ty.len()).then_with(|| tx.cmp(ty));
                if o != Ordering::Equal {
                    return o;
                }
                x = &x[nx..];
                y = &y[ny..];
            }
            (Some(c), Some(d)) => {
                let o = c.to_ascii_lowercase().cmp(&d.to_ascii_lowercase());
                if o != Ordering::Equal {
                    return o;
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let n = d.iter().take_while(|c| **c == b'0').count();
    &d[n.min(d.len().saturating_sub(1))..]
}

/// SOC 2 (AICPA TSC 2017): the criterion's first clause.
const SOC2: &[(&str, &str)] = &[
    ("CC1.1", "The entity demonstrates a commitment to integrity and ethical values"),
    ("CC2.1", "The entity obtains or generates and uses relevant, quality information to support internal control"),
    ("CC3.2", "The entity identifies risks to the achievement of its objectives and analyzes them"),
    ("CC5.2", "The entity selects and develops general control activities over technology"),
    ("CC6.1", "Logical access security software, infrastructure, and architectures over protected information assets"),
    ("CC6.2", "Registration and authorization of new internal and external users before issuing credentials"),
    ("CC6.3", "Authorizes, modifies, or removes access based on roles, responsibilities, least privilege and segregation of duties"),
    ("CC6.6", "Logical access security measures against threats from sources outside the system boundaries"),
    ("CC6.7", "Restricts the transmission, movement, and removal of information to authorized users and processes"),
    ("CC6.8", "Prevents or detects and acts upon the introduction of unauthorized or malicious software"),
    ("CC7.1", "Detection and monitoring procedures to identify configuration changes and new vulnerabilities"),
    ("CC7.2", "Monitors system components for anomalies indicative of malicious acts, natural disasters, and errors"),
    ("CC7.3", "Evaluates security events to determine whether they could or have resulted in a failure to meet objectives"),
    ("CC7.4", "Responds to identified security incidents by executing a defined incident response program"),
    ("CC8.1", "Authorizes, designs, develops or acquires, configures, documents, tests, approves, and implements changes"),
    ("CC9.2", "Assesses and manages risks associated with vendors and business partners"),
    ("A1.1", "Maintains, monitors, and evaluates current processing capacity and use of system components"),
    ("A1.2", "Environmental protections, software, data backup processes, and recovery infrastructure"),
    ("A1.3", "Tests recovery plan procedures supporting system recovery"),
    ("C1.1", "Identifies and maintains confidential information"),
    ("PI1.4", "Implements policies and procedures to make available or deliver output completely and accurately"),
];

/// PCI DSS v4.0: the requirement's text, shortened.
const PCI_DSS: &[(&str, &str)] = &[
    ("1.2.1", "Configuration standards for NSC rulesets are defined, implemented, and maintained"),
    ("1.3.1", "Inbound traffic to the CDE is restricted"),
    ("1.3.2", "Outbound traffic from the CDE is restricted"),
    ("1.4.1", "NSCs are implemented between trusted and untrusted networks"),
    ("2.2.1", "Configuration standards are developed, implemented, and maintained"),
    ("2.2.4", "Only necessary services, protocols, daemons, and functions are enabled"),
    ("2.2.5", "Insecure services, protocols, or daemons that are present are justified and secured"),
    ("2.2.7", "All non-console administrative access is encrypted using strong cryptography"),
    ("3.5.1", "PAN is rendered unreadable anywhere it is stored"),
    ("3.6.1", "Procedures are defined and implemented to protect cryptographic keys"),
    ("3.7.4", "Key changes at the end of the defined cryptoperiod"),
    ("4.2.1", "Strong cryptography protects PAN during transmission over open, public networks"),
    ("6.2.4", "Software engineering techniques prevent or mitigate common software attacks"),
    ("6.3.2", "An inventory of bespoke and custom software and third-party components is maintained"),
    ("6.3.3", "System components are protected from known vulnerabilities by installing security patches"),
    ("6.5.1", "Changes to all system components in production are made according to established procedures"),
    ("7.2.1", "An access control model is defined and includes granting access"),
    ("7.2.2", "Access is assigned based on job classification and function, with least privileges"),
    ("8.2.1", "All users are assigned a unique ID before access to system components or cardholder data"),
    ("8.3.2", "Strong cryptography renders all authentication factors unreadable during transmission and storage"),
    ("8.6.2", "Passwords for application and system accounts are not hard coded in scripts, configuration files, or source code"),
    ("10.2.1", "Audit logs are enabled and active for all system components and cardholder data"),
    ("10.3.2", "Audit log files are protected to prevent modifications by individuals"),
    ("10.3.4", "File integrity monitoring or change-detection mechanisms are used on audit logs"),
    ("10.5.1", "Audit log history is retained for at least 12 months"),
    ("11.5.2", "A change-detection mechanism is deployed"),
    ("12.10.1", "An incident response plan exists and is ready to be activated"),
];

/// HIPAA Security Rule (45 CFR 164.308–164.312): the standard's or implementation specification's name.
const HIPAA: &[(&str, &str)] = &[
    ("164.308(a)(1)(ii)(D)", "Information system activity review"),
    ("164.308(a)(3)", "Workforce security"),
    ("164.308(a)(4)", "Information access management"),
    ("164.308(a)(5)(ii)(B)", "Protection from malicious software"),
    ("164.308(a)(5)(ii)(C)", "Log-in monitoring"),
    ("164.308(a)(5)(ii)(D)", "Password management"),
    ("164.308(a)(7)(ii)(A)", "Data backup plan"),
    ("164.310(d)(1)", "Device and media controls"),
    ("164.312(a)(1)", "Access control"),
    ("164.312(a)(2)(i)", "Unique user identification"),
    ("164.312(a)(2)(iv)", "Encryption and decryption"),
    ("164.312(b)", "Audit controls"),
    ("164.312(c)(1)", "Integrity"),
    ("164.312(d)", "Person or entity authentication"),
    ("164.312(e)(1)", "Transmission security"),
    ("164.312(e)(2)(ii)", "Encryption"),
];

/// NIST SP 800-53 Rev. 5: the control's name.
const NIST_800_53: &[(&str, &str)] = &[
    ("AC-2", "Account Management"),
    ("AC-3", "Access Enforcement"),
    ("AC-4", "Information Flow Enforcement"),
    ("AC-5", "Separation of Duties"),
    ("AC-6", "Least Privilege"),
    ("AC-14", "Permitted Actions Without Identification or Authentication"),
    ("AC-17", "Remote Access"),
    ("AC-21", "Information Sharing"),
    ("AC-22", "Publicly Accessible Content"),
    ("AU-2", "Event Logging"),
    ("AU-6", "Audit Record Review, Analysis, and Reporting"),
    ("AU-9", "Protection of Audit Information"),
    ("AU-11", "Audit Record Retention"),
    ("AU-12", "Audit Record Generation"),
    ("CA-7", "Continuous Monitoring"),
    ("CM-2", "Baseline Configuration"),
    ("CM-3", "Configuration Change Control"),
    ("CM-5", "Access Restrictions for Change"),
    ("CM-6", "Configuration Settings"),
    ("CM-7", "Least Functionality"),
    ("CM-8", "System Component Inventory"),
    ("CM-14", "Signed Components"),
    ("CP-9", "System Backup"),
    ("IA-2", "Identification and Authentication (Organizational Users)"),
    ("IA-3", "Device Identification and Authentication"),
    ("IA-5", "Authenticator Management"),
    ("RA-5", "Vulnerability Monitoring and Scanning"),
    ("SA-11", "Developer Testing and Evaluation"),
    ("SC-6", "Resource Availability"),
    ("SC-7", "Boundary Protection"),
    ("SC-8", "Transmission Confidentiality and Integrity"),
    ("SC-12", "Cryptographic Key Establishment and Management"),
    ("SC-13", "Cryptographic Protection"),
    ("SC-28", "Protection of Information at Rest"),
    ("SC-39", "Process Isolation"),
    ("SI-2", "Flaw Remediation"),
    ("SI-4", "System Monitoring"),
    ("SI-6", "Security and Privacy Function Verification"),
    ("SI-7", "Software, Firmware, and Information Integrity"),
    ("SI-10", "Information Input Validation"),
    ("SI-12", "Information Management and Retention"),
    ("SR-3", "Supply Chain Controls and Processes"),
    ("SR-11", "Component Authenticity"),
];

/// NIST SP 800-190 § 4: the section's title.
const NIST_800_190: &[(&str, &str)] = &[
    ("4.1.1", "Image vulnerabilities"),
    ("4.1.2", "Image configuration defects"),
    ("4.1.3", "Embedded malware"),
    ("4.1.4", "Embedded clear text secrets"),
    ("4.1.5", "Use of untrusted images"),
    ("4.4.1", "Vulnerabilities within the runtime software"),
    ("4.4.2", "Unbounded network access from containers"),
    ("4.4.3", "Insecure container runtime configurations"),
    ("4.4.4", "App vulnerabilities"),
    ("4.4.5", "Rogue containers"),
];

/// CIS Benchmarks (Kubernetes v1.8.0 § 5, Docker v1.6.0 § 4, AWS Foundations v3.0.0): the recommendation's title.
const CIS: &[(&str, &str)] = &[
    ("K8S-5.1.1", "Ensure that the cluster-admin role is only used where required"),
    ("K8S-5.1.2", "Minimize access to secrets"),
    ("K8S-5.1.3", "Minimize wildcard use in Roles and ClusterRoles"),
    ("K8S-5.1.4", "Minimize access to create pods"),
    ("K8S-5.1.5", "Ensure that default service accounts are not actively used"),
    ("K8S-5.1.6", "Ensure that Service Account Tokens are only mounted where necessary"),
    ("K8S-5.1.8", "Limit use of the Bind, Impersonate and Escalate permissions in the Kubernetes cluster"),
    ("K8S-5.1.11", "Minimize access to the approval sub-resource of certificatesigningrequests objects"),
    ("K8S-5.1.12", "Minimize access to webhook configuration objects"),
    ("K8S-5.1.13", "Minimize access to the service account token creation"),
    ("K8S-5.2.1", "Ensure that the cluster has at least one active policy control mechanism in place"),
    ("K8S-5.2.2", "Minimize the admission of privileged containers"),
    ("K8S-5.2.3", "Minimize the admission of containers wishing to share the host process ID namespace"),
    ("K8S-5.2.4", "Minimize the admission of containers wishing to share the host IPC namespace"),
    ("K8S-5.2.5", "Minimize the admission of containers wishing to share the host network namespace"),
    ("K8S-5.2.6", "Minimize the admission of containers with allowPrivilegeEscalation"),
    ("K8S-5.2.7", "Minimize the admission of root containers"),
    ("K8S-5.2.8", "Minimize the admission of containers with the NET_RAW capability"),
    ("K8S-5.2.9", "Minimize the admission of containers with added capabilities"),
    ("K8S-5.2.10", "Minimize the admission of containers with capabilities assigned"),
    ("K8S-5.2.11", "Minimize the admission of Windows HostProcess containers"),
    ("K8S-5.2.12", "Minimize the admission of HostPath volumes"),
    ("K8S-5.2.13", "Minimize the admission of containers which use HostPorts"),
    ("K8S-5.7.2", "Ensure that the seccomp profile is set to docker/default in your pod definitions"),
    ("K8S-5.7.3", "Apply SecurityContext to your Pods and Containers"),
    ("K8S-5.7.4", "The default namespace should not be used"),
    ("DOCKER-4.1", "Ensure that a user for the container has been created"),
    ("DOCKER-4.2", "Ensure that containers use only trusted base images"),
    ("DOCKER-4.3", "Ensure that unnecessary packages are not installed in the container"),
    ("DOCKER-4.6", "Ensure that HEALTHCHECK instructions have been added to container images"),
    ("DOCKER-4.7", "Ensure update instructions are not used alone in the Dockerfile"),
    ("DOCKER-4.9", "Ensure that COPY is used instead of ADD in Dockerfiles"),
    ("DOCKER-4.10", "Ensure secrets are not stored in Dockerfiles"),
    ("AWS-1.16", "Ensure IAM policies that allow full \"*:*\" administrative privileges are not attached"),
    ("AWS-2.1.1", "Ensure S3 Bucket Policy is set to deny HTTP requests"),
    ("AWS-2.1.2", "Ensure MFA Delete is enabled on S3 buckets"),
    ("AWS-2.1.4", "Ensure that S3 Buckets are configured with 'Block public access (bucket settings)'"),
    ("AWS-2.2.1", "Ensure EBS Volume Encryption is Enabled in all Regions"),
    ("AWS-2.3.1", "Ensure that encryption-at-rest is enabled for RDS Instances"),
    ("AWS-2.3.3", "Ensure that public access is not given to RDS Instance"),
    ("AWS-3.1", "Ensure CloudTrail is enabled in all regions"),
    ("AWS-3.2", "Ensure CloudTrail log file validation is enabled"),
    ("AWS-3.5", "Ensure CloudTrail logs are encrypted at rest using KMS CMKs"),
    ("AWS-3.6", "Ensure rotation for customer-created symmetric CMKs is enabled"),
    ("AWS-3.7", "Ensure VPC flow logging is enabled in all VPCs"),
    ("AWS-5.2", "Ensure no security groups allow ingress from 0.0.0.0/0 to remote server administration ports"),
    ("AWS-5.3", "Ensure no security groups allow ingress from ::/0 to remote server administration ports"),
    ("AWS-5.4", "Ensure the default security group of every VPC restricts all traffic"),
    ("AWS-5.6", "Ensure that EC2 Metadata Service only allows IMDSv2"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_ids_split_into_framework_and_control() {
        assert_eq!(parse("SOC2-CC6.1"), ("soc2".into(), "CC6.1".into()));
        assert_eq!(parse("PCI-DSS-6.3.2"), ("pci-dss".into(), "6.3.2".into()));
        assert_eq!(parse("NIST-800-53-AC-6"), ("nist-800-53".into(), "AC-6".into()));
        assert_eq!(parse("NIST-800-190-4.4.3"), ("nist-800-190".into(), "4.4.3".into()));
        assert_eq!(parse("CIS-K8S-5.2.1"), ("cis".into(), "K8S-5.2.1".into()));
        assert_eq!(parse("HIPAA-164.312(b)"), ("hipaa".into(), "164.312(b)".into()));
        assert_eq!(parse("SLSA-BUILD-L3"), ("slsa".into(), "BUILD-L3".into()));
        assert_eq!(parse("SOC2"), ("other".into(), "SOC2".into()));
    }

    #[test]
    fn titles_of_known_controls_and_none_for_unknown() {
        assert_eq!(title("nist-800-53", "AC-6"), Some("Least Privilege"));
        assert_eq!(title("hipaa", "164.312(b)"), Some("Audit controls"));
        assert_eq!(title("cis", "K8S-5.2.2"), Some("Minimize the admission of privileged containers"));
        assert_eq!(title("soc2", "CC99.9"), None);
        assert_eq!(title("slsa", "BUILD-L3"), None);
    }

    #[test]
    fn every_control_of_the_bundled_packs_soc2_pci_hipaa_nist_has_a_title() {
        let packs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../bylaw-packs/packs");
        let mut missing = Vec::new();
        let mut stack = vec![packs];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                for line in text.lines().filter_map(|l| l.trim().strip_prefix("controls:")) {
                    for id in line.trim().trim_matches(|c| c == '[' || c == ']').split(',') {
                        let (fw, control) = parse(id.trim());
                        let catalogued = ["soc2", "pci-dss", "hipaa", "nist-800-53", "nist-800-190"]
                            .contains(&fw.as_str())
                            || (fw == "cis" && ["K8S-", "DOCKER-"].iter().any(|p| control.starts_with(p)));
                        if catalogued && title(&fw, &control).is_none() {
                            missing.push(id.trim().to_owned());
                        }
                    }
                }
            }
        }
        assert!(missing.is_empty(), "controls without a title: {missing:?}");
    }

    #[test]
    fn natural_order_of_control_ids() {
        let mut ids = vec!["CC6.10", "CC6.2", "CC6.1", "A1.2", "AC-14", "AC-2", "164.312(b)", "164.312(a)(1)"];
        ids.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(ids, ["164.312(a)(1)", "164.312(b)", "A1.2", "AC-2", "AC-14", "CC6.1", "CC6.2", "CC6.10"]);
        assert_eq!(order("soc2", "cis"), Ordering::Less);
        assert_eq!(order("cis", "nist-800-190"), Ordering::Less);
        assert_eq!(name("pci-dss"), "PCI DSS v4.0");
    }
}

use super::*;

#[test]
fn kev_json_and_csv_agree() {
    let json = br#"{"catalogVersion": "2025.08.25", "vulnerabilities": [
            {"cveID": "CVE-2021-44228", "vendorProject": "Apache", "product": "Log4j2",
             "vulnerabilityName": "Log4Shell", "dateAdded": "2021-12-10", "dueDate": "2021-12-24",
             "knownRansomwareCampaignUse": "Known", "notes": ""},
            {"cveID": "not-a-cve", "dateAdded": "2021-12-10"}]}"#;
    let csv = b"cveID,vendorProject,product,vulnerabilityName,dateAdded,shortDescription,requiredAction,dueDate,knownRansomwareCampaignUse,notes,cwes\n\
            CVE-2021-44228,Apache,Log4j2,Log4Shell,2021-12-10,x,y,2021-12-24,Known,,CWE-20\n";
    let from_json = parse_kev(json).unwrap();
    let from_csv = parse_kev(csv).unwrap();
    assert_eq!(from_json.version.as_deref(), Some("2025.08.25"));
    assert_eq!(from_json.entries, from_csv.entries);
    assert_eq!(from_json.warnings.len(), 1);
}

#[test]
fn epss_reads_the_comment_line_and_rows() {
    let file = parse_epss(
        b"#model_version:v2023.03.01,score_date:2023-03-13T00:00:00+0000\n\
              cve,epss,percentile\nCVE-2021-44228,0.97565,0.99996\nCVE-1999-0001,x,0.1\n",
    )
    .unwrap();
    assert_eq!(file.model_version.as_deref(), Some("v2023.03.01"));
    assert_eq!(file.score_date, NaiveDate::from_ymd_opt(2023, 3, 13));
    assert_eq!(file.scores.len(), 1);
    assert_eq!(file.warnings[0].pointer, "line 4");
}

#[test]
fn other_files_are_refused() {
    assert_eq!(parse_kev(b"{\"a\": 1}").unwrap_err().kind, "wrong-format");
    assert_eq!(
        parse_epss(b"a,b,c\n1,2,3\n").unwrap_err().kind,
        "wrong-format"
    );
}

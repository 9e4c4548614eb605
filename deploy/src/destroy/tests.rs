use std::path::Path;

use super::*;

#[test]
fn the_kept_resources_are_the_data_ones() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/sbw.yaml");
    let deployment = sbw_infra::config::load(Path::new(example), "prod", None).unwrap();
    let kept = render::render(&deployment).unwrap();
    let storage = kept.stack("storage").unwrap().kept_resources();
    let ids: Vec<&str> = storage.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["AccessLogBucket", "RawBucket", "ArtifactsBucket"]);
    assert_eq!(
        kept.stack("ingest").unwrap().kept_resources(),
        [("DeadLetterQueue".to_owned(), "AWS::SQS::Queue".to_owned())]
    );
    assert_eq!(
        kept.stack("warehouse").unwrap().kept_resources(),
        [("DataVolume".to_owned(), "AWS::EC2::Volume".to_owned())]
    );
    for stack in &kept.stacks {
        assert_eq!(
            stack.kept_resources(),
            stack.data_resources(),
            "{}",
            stack.name
        );
    }
    let deleted = render::render_with(&deployment, DataOnDelete::Delete).unwrap();
    for stack in &deleted.stacks {
        let expected = match stack.name {
            // Deleted by destroy itself once the buckets logging into it are gone.
            "storage" => vec![("AccessLogBucket".to_owned(), "AWS::S3::Bucket".to_owned())],
            _ => vec![],
        };
        assert_eq!(stack.kept_resources(), expected, "{}", stack.name);
        assert_eq!(
            stack.data_resources(),
            kept.stack(stack.name).unwrap().data_resources(),
            "{}",
            stack.name
        );
    }
    assert!(describe_plan(&deleted, true).contains("ALL DATA IS DELETED"));
    assert!(describe_plan(&kept, false).contains("data is kept"));
}

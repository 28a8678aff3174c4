"""SharedVolume: one ReadWriteMany claim every pod of an app mounts, protected with the data (S1-05, X-09)."""

from components.shared_volume import SharedVolume, SharedVolumeArgs
from tests.support.runtime import synth


def _volume(protect: bool):
    return synth(
        lambda: SharedVolume(
            "results", SharedVolumeArgs("bench", "bench-results", "200Gi", "efs-sc", {"app": "bench"}, protect)
        )
    )


def test_the_claim_is_read_write_many_on_its_class():
    built = _volume(protect=True)
    claim = built.manifests[("PersistentVolumeClaim", "bench-results")]
    assert claim["metadata"]["namespace"] == "bench" and claim["metadata"]["labels"]["app"] == "bench"
    assert claim["spec"] == {
        "accessModes": ["ReadWriteMany"],
        "resources": {"requests": {"storage": "200Gi"}},
        "storageClassName": "efs-sc",
    }
    registration = built.objects[("PersistentVolumeClaim", "bench-results")]
    assert registration.protect and registration.retain_on_delete
    assert built.component.claim_name == "bench-results"


def test_unprotected_where_data_is_not():
    registration = _volume(protect=False).objects[("PersistentVolumeClaim", "bench-results")]
    assert not registration.protect and not registration.retain_on_delete

"""The torchvision transform → preprocessing conversion (skipped without torchvision)."""
import pytest

tv = pytest.importorskip("torchvision", exc_type=ImportError)
from torchvision import transforms as T  # noqa: E402

from kiln_export.api import preprocessing_preset  # noqa: E402
from kiln_export.errors import KilnExportError  # noqa: E402
from kiln_export.torchvision_transforms import preprocessing_from_torchvision  # noqa: E402

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def test_imagenet_eval_transform_equals_the_preset():
    tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(MEAN, STD)])
    assert preprocessing_from_torchvision(tf, "images") == preprocessing_preset("imagenet", "images")


def test_sizes_interpolation_and_max_size():
    tf = T.Compose([T.Resize((300, 200), interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(17),
                    T.ToTensor()])
    steps = preprocessing_from_torchvision(tf)["steps"]
    assert steps[0] == {"op": "resize", "size": [300, 200], "interpolation": "bicubic", "antialias": True}
    assert steps[1] == {"op": "center_crop", "size": [17, 17]}
    steps = preprocessing_from_torchvision(T.Compose([T.Resize(100, max_size=150), T.ToTensor()]))["steps"]
    assert steps[0]["max_size"] == 150 and steps[0]["size"] == 100


@pytest.mark.parametrize("bad, mention", [
    (T.Compose([T.RandomResizedCrop(224), T.ToTensor()]), "RandomResizedCrop"),
    (T.Compose([T.Resize(256), T.CenterCrop(224)]), "exactly one ToTensor"),
    (T.Compose([T.ToTensor(), T.Resize(256)]), "order"),
    (T.Compose([T.Resize(256, interpolation=T.InterpolationMode.BOX), T.ToTensor()]), "interpolation"),
])
def test_transforms_without_an_exact_equivalent_are_refused(bad, mention):
    with pytest.raises(KilnExportError, match=mention):
        preprocessing_from_torchvision(bad)

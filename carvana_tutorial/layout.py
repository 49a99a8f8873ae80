"""Carvana's file layout and naming: in ``train_hq/<id>_<NN>.jpg`` and
``train_masks/<id>_<NN>_mask.gif``, ``<id>`` is 12 lowercase hex characters naming a car and
``<NN>`` (01..16) a turntable view. Introduced in chapter 1 (*Getting the data*)."""

import re
from dataclasses import dataclass

TRAIN_IMAGES = "train_hq"
TRAIN_MASKS = "train_masks"
TEST_IMAGES = "test_hq"
MASKS_CSV = "train_masks.csv"
MASKS_CSV_ZIP = f"{MASKS_CSV}.zip"

VIEWS = 16
FULL_SIZE = (1280, 1918)  # height x width of every real Carvana photo (Keras order)
# ``<car>_<NN>.jpg`` or ``<car>_<NN>_mask.gif``: the mask suffix goes with the GIF.
_NAME = re.compile(r"^(?P<car>[0-9a-f]{12})_(?P<view>\d{2})(?:\.jpg|(?P<mask>_mask)\.gif)$")


@dataclass(frozen=True, order=True)
class ViewId:
    """One photo of one car: ``car`` is the 12-hex id, ``view`` is 1..16."""

    car: str
    view: int

    @property
    def image_name(self) -> str:
        return f"{self.car}_{self.view:02d}.jpg"

    @property
    def mask_name(self) -> str:
        return f"{self.car}_{self.view:02d}_mask.gif"


def parse_name(name: str) -> tuple[ViewId, bool] | None:
    """A Carvana file name's view id and whether it is a mask; ``None`` outside the scheme."""
    match = _NAME.match(name)
    if match is None or not 1 <= int(match["view"]) <= VIEWS:
        return None
    return ViewId(match["car"], int(match["view"])), match["mask"] is not None

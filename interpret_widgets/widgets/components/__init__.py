"""Small parts the views are composed of, each with a small public surface.

Views link their traits to these with ``traitlets.link``; tests use the same surface.
"""

from .activation_map import ActivationMap
from .channel_grid import ChannelGrid
from .channel_stats import ChannelStatistics
from .check_charts import CurveChart, RandomizationStrip, SimilarityChart
from .image_picker import ImagePicker
from .kernel_view import KernelView
from .knockout_comparison import KnockoutComparison
from .knockout_grid import KnockoutGrid
from .objective_chart import ObjectiveChart
from .picture_grid import PictureGrid
from .pruning_chart import PruningChart
from .run_controls import RunControls
from .segment_view import SegmentView
from .step_progress import StepProgress
from .volume_view import VolumeView

__all__ = [
    "ActivationMap",
    "ChannelGrid",
    "ChannelStatistics",
    "CurveChart",
    "ImagePicker",
    "KernelView",
    "KnockoutComparison",
    "KnockoutGrid",
    "ObjectiveChart",
    "PictureGrid",
    "PruningChart",
    "RandomizationStrip",
    "RunControls",
    "SegmentView",
    "SimilarityChart",
    "StepProgress",
    "VolumeView",
]

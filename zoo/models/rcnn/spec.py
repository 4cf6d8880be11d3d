"""Spec of faster_rcnn, catalog section D's two-stage detector (TensorFlow-free).

The defaults are the paper's design for PASCAL VOC (20 classes): a VGG-16 backbone, 9 anchors a position
(three scales, three ratios), a 512-filter RPN, 300 proposals, 7x7 RoI features and two fully connected
layers (1,024 units, torchvision's; the paper reuses VGG's 4,096-unit fc6 and fc7) at 512x512x3. The
`small` configuration (the local dry run and the tests) keeps every part at the size of the offline data,
`synthetic_shapes/boxes` (48x48 images, shapes of 9-24 pixels, 3 classes): the zoo's `simple_cnn` without its
top as the backbone (two 3x3 convolutions of 32 and 64 filters, each pooled: stride 4, a 12x12 map),
anchors of a quarter and a half of the image's side (6 a position, 864 in all), 32 proposals, 6x6 RoI
features of one bilinear sample a cell (two a side cost 60% more a training step on CPU) and 128-unit dense
layers.

The model owns its loss (recipe loss None, `compute_loss`); the anchor targets come from `target_encoder` in
the data map. Measured (small configuration, the recipe, `synthetic_shapes/boxes`, two CPU cores): see the
gate's comment.
"""

from zoo.spec import Gate, ModelSpec, Recipe, TensorSig

NOT_SEQUENTIAL = ("the region proposal network has two outputs (objectness and box deltas) and the box head "
                  "takes regions that depend on them; a keras.Sequential has one input and one path")


def _image(hp):
    return {"image": TensorSig(tuple(hp["input_shape"]))}


SPECS = [
    ModelSpec(
        name="faster_rcnn",
        family="vision",
        task="object_detection",
        summary="Faster R-CNN: a zoo CNN backbone, a region proposal network over anchors (objectness and box "
                "deltas, NMS), RoI align and a box head (class scores and per-class box refinement); per-class "
                "NMS; trained end to end on the sum of the four losses (compute_loss).",
        reference="Ren, He, Girshick & Sun 2015; RoI align from He, Gkioxari, Dollar & Girshick 2017; seed 000 "
                  "'RCNN', 002 '6장' (R-CNN, SPPNet, Fast/Faster R-CNN), 003 'R-CNN'",
        impl="zoo.models.rcnn.faster_rcnn:FASTER_RCNN_STYLES",
        defaults={
            "input_shape": (512, 512, 3), "classes": 20, "backbone": "vgg16", "backbone_options": {},
            "backbone_weights": None, "anchor_scales": (0.2, 0.4, 0.8), "anchor_ratios": (0.5, 1.0, 2.0),
            "rpn_filters": 512, "proposals": 300, "proposal_iou": 0.7, "roi_size": 7, "sampling_ratio": 2,
            "head_units": 1024, "rpn_batch": 256, "roi_batch": 128, "max_boxes": 50, "score_threshold": 0.05,
            "iou_threshold": 0.5, "max_detections": 100, "seed": None,
        },
        small={"input_shape": (48, 48, 3), "classes": 3, "backbone": "simple_cnn",
               "backbone_options": {"filters": (32, 64)}, "anchor_scales": (0.25, 0.45), "rpn_filters": 32,
               "proposals": 32, "roi_size": 6, "sampling_ratio": 1, "head_units": 128, "rpn_batch": 64,
               "roi_batch": 32, "max_boxes": 3, "max_detections": 20},
        signature=_image,
        output="detections (batch, max_detections, 6): [ymin, xmin, ymax, xmax] relative, score, class (-1: none); "
               "`detect` and the served model return boxes, scores and classes (served boxes in the request "
               "image's pixels, [ymin, xmin, ymax, xmax])",
        offline_datasets=("synthetic_shapes/boxes",),
        online_datasets=("voc/2007",),
        styles={"sequential": NOT_SEQUENTIAL, "functional": None, "subclass": None},
        # Adam at 2e-3 for 4 epochs, no early stopping (the summed loss can rise while the RPN's proposals
        # improve, as more sampled regions become foreground, so it says little about mAP). Measured on
        # synthetic_shapes/boxes (6,000 scenes; small configuration, the recipe, two CPU cores shared with
        # other jobs at load 5-13): test mAP@0.5 0.90 (seed 0, `zoo run --local`: mAP@[.5:.95] 0.59, recall@0.5
        # 0.98; 153 s of training, 28-55 s an epoch) and 0.80 (seed 1: 0.51, 0.96); an untrained model scores
        # 0.00. Earlier settings on 3,000 scenes, seed 0: 8 epochs with two samples a RoI-align cell 0.78; with
        # 4x4 RoI features and Adam at 1e-3, 0.48; with (16, 32) backbone filters, 64 head units, 4x4 RoI
        # features, 6 epochs at 1e-3, 0.37. The floor leaves a margin below the measured runs.
        recipe=Recipe(loss=None, learning_rate=2e-3, batch_size=32, epochs=4, monitor=None),
        gate=Gate(metric="map_50", direction="max", floor=0.6),
        adapter="zoo.tasks.detection:adapt_detection",
    ),
]

// Model graphs drawn from the models themselves (module tree + output shapes from one forward pass):
// docs/images/graph-small-cnn.svg and docs/images/graph-resnet18.svg.
import * as tt from 'tatami';
const { smallCnn, getModel } = tt.models;

const { viz } = tt;
viz.writeModelGraph('docs/images/graph-small-cnn.svg', smallCnn().eval(), tt.zeros([1, 1, 28, 28]), {
  title: 'small_cnn (input 1×28×28)',
});
viz.writeModelGraph('docs/images/graph-resnet18.svg', getModel('resnet18').eval(), tt.zeros([1, 3, 224, 224]), {
  title: 'resnet18 (input 3×224×224)',
});
console.log('wrote docs/images/graph-small-cnn.svg, docs/images/graph-resnet18.svg');

"""PyTorch twins of Tatami's generation models, for the parity test (test/gan-parity.test.ts):
/usr/bin/python3 tools/export_gan.py OUT_DIR

For each model writes OUT_DIR/NAME.safetensors (the state_dict, batch-norm statistics randomised) and
OUT_DIR/NAME.io.safetensors (`input`, `output` in eval mode; `train_output` in training mode where it differs).
The DCGAN is W8's (../shared/bench/torch_bench.py `dcgan()`); pix2pix's blocks follow the authors' code.
"""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_torchvision import randomise_batch_norm, write_safetensors  # noqa: E402


def dcgan64(nz=100, ngf=64, ndf=64):
    G = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False), nn.Tanh())
    D = nn.Sequential(
        nn.Conv2d(3, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False))
    return G, D


class Block(nn.Module):
    def __init__(self, outer, inner, input_nc=None, sub=None, outermost=False, innermost=False, dropout=False):
        super().__init__()
        self.outermost = outermost
        dc = nn.Conv2d(outer if input_nc is None else input_nc, inner, 4, 2, 1, bias=False)
        if outermost:
            m = [dc, sub, nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1), nn.Tanh()]
        elif innermost:
            m = [nn.LeakyReLU(0.2, True), dc, nn.ReLU(True), nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=False), nn.BatchNorm2d(outer)]
        else:
            m = [nn.LeakyReLU(0.2, True), dc, nn.BatchNorm2d(inner), sub, nn.ReLU(True),
                 nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=False), nn.BatchNorm2d(outer)]
            if dropout:
                m.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*m)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class Unet(nn.Module):
    def __init__(self, in_c, out_c, num_downs, ngf):
        super().__init__()
        b = Block(ngf * 8, ngf * 8, innermost=True)
        for _ in range(num_downs - 5):
            b = Block(ngf * 8, ngf * 8, sub=b, dropout=True)
        b = Block(ngf * 4, ngf * 8, sub=b)
        b = Block(ngf * 2, ngf * 4, sub=b)
        b = Block(ngf, ngf * 2, sub=b)
        self.model = Block(out_c, ngf, input_nc=in_c, sub=b, outermost=True)

    def forward(self, x):
        return self.model(x)


def patchgan(in_c, ndf):
    return nn.Sequential(
        nn.Conv2d(in_c, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 1, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 1))


class DnCNN(nn.Module):
    def __init__(self, c, depth, f):
        super().__init__()
        layers = [nn.Conv2d(c, f, 3, padding=1), nn.ReLU(True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(f, f, 3, padding=1, bias=False), nn.BatchNorm2d(f), nn.ReLU(True)]
        layers.append(nn.Conv2d(f, c, 3, padding=1, bias=False))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return x - self.net(x)


class ResnetBlock(nn.Module):
    def __init__(self, dim, norm):
        super().__init__()
        self.conv_block = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), norm(dim), nn.ReLU(True),
                                        nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), norm(dim))

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """The CycleGAN authors' generator with instance norm (use_bias True), written out for the twin."""

    def __init__(self, in_c, out_c, ngf, n_blocks, norm=nn.InstanceNorm2d):
        super().__init__()
        m = [nn.ReflectionPad2d(3), nn.Conv2d(in_c, ngf, 7), norm(ngf), nn.ReLU(True)]
        for mult in (1, 2):
            m += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, 2, 1), norm(ngf * mult * 2), nn.ReLU(True)]
        m += [ResnetBlock(ngf * 4, norm) for _ in range(n_blocks)]
        for mult in (4, 2):
            m += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, 2, 1, output_padding=1), norm(ngf * mult // 2), nn.ReLU(True)]
        m += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_c, 7), nn.Tanh()]
        self.model = nn.Sequential(*m)

    def forward(self, x):
        return self.model(x)


def patchgan_instance(in_c, ndf):
    return nn.Sequential(
        nn.Conv2d(in_c, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1), nn.InstanceNorm2d(ndf * 2), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1), nn.InstanceNorm2d(ndf * 4), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 1, 1), nn.InstanceNorm2d(ndf * 8), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 1))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    g64, d64 = dcgan64(ngf=8, ndf=8)
    models = {
        "dcgan64_G": (g64, torch.randn(2, 100, 1, 1)),
        "dcgan64_D": (d64, torch.rand(2, 3, 64, 64) * 2 - 1),
        "pix2pix_unet": (Unet(3, 2, 5, 4), torch.rand(2, 3, 32, 32)),
        "patchgan": (patchgan(5, 8), torch.rand(2, 5, 40, 40)),
        "cyclegan_resnet": (ResnetGenerator(3, 2, 4, 2), torch.rand(2, 3, 24, 20) * 2 - 1),
        "cyclegan_patchgan": (patchgan_instance(3, 8), torch.rand(2, 3, 40, 36) * 2 - 1),
        "dncnn": (DnCNN(1, 5, 8), torch.rand(2, 1, 12, 12)),
        "srcnn": (nn.Sequential(nn.Conv2d(1, 64, 9, padding=4), nn.ReLU(True), nn.Conv2d(64, 32, 1), nn.ReLU(True),
                                nn.Conv2d(32, 1, 5, padding=2)), torch.rand(1, 1, 16, 16)),
        "espcn": (nn.Sequential(nn.Conv2d(1, 64, 5, padding=2), nn.Tanh(), nn.Conv2d(64, 32, 3, padding=1), nn.Tanh(),
                                nn.Conv2d(32, 9, 3, padding=1), nn.PixelShuffle(3)), torch.rand(1, 1, 8, 8)),
    }
    for seed, (name, (model, x)) in enumerate(models.items()):
        torch.manual_seed(seed)
        for p in model.parameters():
            with torch.no_grad():
                p.copy_(torch.randn(p.shape) * 0.2)
        randomise_batch_norm(model, seed)
        io = {"input": x}
        model.train()
        with torch.no_grad():
            io["train_output"] = model(x)
        model.eval()
        with torch.no_grad():
            io["output"] = model(x)
        write_safetensors(os.path.join(out, name + ".safetensors"), model.state_dict())
        write_safetensors(os.path.join(out, name + ".io.safetensors"), io)


if __name__ == "__main__":
    main()
